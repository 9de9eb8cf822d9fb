/**
 * `status`: the whole health check as an operator gets it from the bot (signed command → status
 * message posted in the channel) against the runbook way (one psql per check, one after the other),
 * on the demo Recipe Database under a modest background load, interleaved in one run.
 */
import { renderBlocks } from '../src/bot/blocks-to-text.js';
import type { Message } from '../src/bot/blocks.js';
import type { Harness } from './harness.js';
import { startBackgroundLoad } from './load.js';
import { PSQL_CHECKS, runPsqlChecks } from './psql-checks.js';
import type { BenchContext, SectionResult } from './section.js';
import { summarize } from './stats.js';

const RUNS = 30;
const WARM_UP = 3;
const TARGET_SPEED_UP = 5;
const POST_TIMEOUT_MS = 30_000;
const CHANNEL = 'C_BENCH_STATUS';

export async function statusSection({ harness, say }: BenchContext): Promise<SectionResult> {
  say('status: starting the background load (pgbench -i, then a rate-limited pgbench)…');
  const load = await startBackgroundLoad(harness.pg, harness.clientBinDir, harness.databaseUrl);
  try {
    const bot = (): Promise<number> => botStatus(harness);
    const psql = async (): Promise<number> => {
      const started = performance.now();
      const outputs = await runPsqlChecks(harness.clientBinDir, harness.databaseUrl);
      const elapsed = performance.now() - started;
      if (outputs.some((out) => out.trim() === '')) throw new Error('a psql check printed nothing');
      return elapsed;
    };

    say(`status: ${WARM_UP} warm-ups each…`);
    for (let i = 0; i < WARM_UP; i++) {
      await bot();
      await psql();
    }
    const botMs: number[] = [];
    const psqlMs: number[] = [];
    say(`status: ${RUNS} sequential runs each, alternating which goes first…`);
    for (let i = 0; i < RUNS; i++) {
      if (i % 2 === 0) {
        botMs.push(await bot());
        psqlMs.push(await psql());
      } else {
        psqlMs.push(await psql());
        botMs.push(await bot());
      }
    }

    const b = summarize(botMs);
    const p = summarize(psqlMs);
    const speedUp = p.p50 / b.p50;
    return {
      title: `status end to end (${RUNS} sequential runs after ${WARM_UP} warm-ups)`,
      baseline: `the same ${PSQL_CHECKS.length} checks as separate \`psql -X -A -t -c\` calls, one after the other`,
      figures: [
        {
          name: 'status median',
          unit: 'ms',
          bot: b.p50,
          baseline: p.p50,
          ratio: { value: speedUp, reads: 'faster (psql/bot)' },
          target: { text: `bot ≥ ${TARGET_SPEED_UP}× faster (issue 3)`, met: speedUp >= TARGET_SPEED_UP },
        },
        { name: 'status p90', unit: 'ms', bot: b.p90, baseline: p.p90, ratio: { value: p.p90 / b.p90, reads: 'faster (psql/bot)' } },
      ],
      notes: [
        `Bot: signed /recipedb status → status message at the fake Slack. psql: ${PSQL_CHECKS.map((c) => c.name).join(', ')}.`,
        `Load: ${load.describe}. psql runs locally; the runbook adds a \`kubectl exec\` per call, so the real gap is larger.`,
      ],
      details: { runs: RUNS, warmUp: WARM_UP, load: load.describe, checks: PSQL_CHECKS.map((c) => c.name), bot: b, psql: p },
    };
  } finally {
    await load.stop();
  }
}

/** One status as the operator sees it: from sending the command until the answer is in the channel. */
async function botStatus(harness: Harness): Promise<number> {
  const { slack, client } = harness;
  slack.reset();
  const posted = slack.waitFor('chat.postMessage', (call) => call.body.channel === CHANNEL, POST_TIMEOUT_MS);
  // waitFor's rejection is handled below; without a handler here a failed send would leave it unhandled.
  posted.catch(() => undefined);
  const started = performance.now();
  const sent = await client.command('status', { channelId: CHANNEL });
  if (sent.status !== 200) throw new Error(`the status command was answered with HTTP ${sent.status}`);
  const call = await posted;
  const elapsed = performance.now() - started;
  const text = renderBlocks({ text: String(call.body.text ?? ''), blocks: (call.body.blocks ?? []) as Message['blocks'] }).text;
  if (!text.includes('PostgreSQL: up')) throw new Error(`the bot's status did not see PostgreSQL up:\n${text.slice(0, 500)}`);
  return elapsed;
}
