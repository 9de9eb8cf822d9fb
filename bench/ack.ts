/**
 * `ack`: how long Slack waits for the bot's HTTP 200 on a slash command under concurrent load,
 * against a bare Bolt app whose listener only acks (the floor any Bolt app pays), same signing
 * secret, same requests from the same sender process, same machine, interleaved in one run.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import type { BenchContext, SectionResult } from './section.js';
import { startSlackSender, type SlackSender } from './slack-sender.js';
import { summarize } from './stats.js';

const COMMANDS = 200;
const CONCURRENCY = 20;
// Rounds alternate which side goes first, so a machine that gets busier or quieter during the run
// (other jobs, CPU frequency) weighs on both sides alike.
const ROUNDS = 4;
const WARM_UP = 20;
const POST_TIMEOUT_MS = 60_000;

interface Batch {
  ackMs: number[];
  endToEndMs: number[];
}

/** Comparable with the sender process's `sentAt`. */
const absoluteNow = (): number => performance.timeOrigin + performance.now();

export async function ackSection({ harness, say }: BenchContext): Promise<SectionResult> {
  const { slack, signingSecret } = harness;
  const baseline = await startBareBoltApp(signingSecret, slack.apiUrl);
  const sender = startSlackSender();
  try {
    let channelSeq = 0;
    const channels = (count: number): string[] =>
      Array.from({ length: count }, () => `CBENCH${String(++channelSeq).padStart(5, '0')}`);
    const job = (eventsUrl: string, count: number) => ({
      eventsUrl,
      signingSecret,
      channels: channels(count),
      concurrency: CONCURRENCY,
      responseUrlBase: slack.responseUrl(''),
    });

    const botBatch = (count: number): Promise<Batch> => sendAndTrack(sender, job(harness.eventsUrl, count), slack);
    const baselineBatch = async (count: number): Promise<Batch> => ({ ackMs: acked(await sender.send(job(baseline.eventsUrl, count))), endToEndMs: [] });

    say(`ack: warming up (${WARM_UP} commands each)…`);
    await baselineBatch(WARM_UP);
    await botBatch(WARM_UP);
    slack.reset();

    const bot: Batch = { ackMs: [], endToEndMs: [] };
    const bare: Batch = { ackMs: [], endToEndMs: [] };
    // Both apps share this process's event loop; how long it stalls while each side is under load
    // explains the tail of the ack figures (nothing answers while a listener holds the loop).
    const loopDelay = { bot: [] as number[], baseline: [] as number[] };
    const perRound = COMMANDS / ROUNDS;
    for (let round = 0; round < ROUNDS; round++) {
      say(`ack: round ${round + 1}/${ROUNDS} (${perRound} commands each side, concurrency ${CONCURRENCY})…`);
      const sides = round % 2 === 0 ? (['baseline', 'bot'] as const) : (['bot', 'baseline'] as const);
      for (const side of sides) {
        const sampler = sampleLoopDelay();
        const batch = side === 'bot' ? await botBatch(perRound) : await baselineBatch(perRound);
        loopDelay[side].push(...sampler.stop());
        const into = side === 'bot' ? bot : bare;
        into.ackMs.push(...batch.ackMs);
        into.endToEndMs.push(...batch.endToEndMs);
      }
      // Every status of the round is posted by now: the next round starts from a quiet bot.
      slack.reset();
    }

    const botAck = summarize(bot.ackMs);
    const bareAck = summarize(bare.ackMs);
    const endToEnd = summarize(bot.endToEndMs);
    const botLoop = summarize(loopDelay.bot);
    const bareLoop = summarize(loopDelay.baseline);
    return {
      title: `Slash-command ack latency (${COMMANDS} × /recipedb status, concurrency ${CONCURRENCY})`,
      baseline: 'a bare Bolt app on its HTTP receiver whose /recipedb listener only calls ack()',
      figures: [
        { name: 'ack p50', unit: 'ms', bot: botAck.p50, baseline: bareAck.p50, ratio: { value: botAck.p50 / bareAck.p50, reads: 'bot/baseline' } },
        { name: 'ack p99', unit: 'ms', bot: botAck.p99, baseline: bareAck.p99, ratio: { value: botAck.p99 / bareAck.p99, reads: 'bot/baseline' } },
        { name: 'ack max', unit: 'ms', bot: botAck.max, baseline: bareAck.max, ratio: null, target: { text: 'every ack < 3,000 ms', met: botAck.max < 3_000 } },
        { name: 'status posted p50 (extra)', unit: 'ms', bot: endToEnd.p50, baseline: null, ratio: null },
        { name: 'status posted p99 (extra)', unit: 'ms', bot: endToEnd.p99, baseline: null, ratio: null },
        { name: 'event-loop delay p99 (extra)', unit: 'ms', bot: botLoop.p99, baseline: bareLoop.p99, ratio: null },
        { name: 'event-loop delay max (extra)', unit: 'ms', bot: botLoop.max, baseline: bareLoop.max, ratio: null },
      ],
      notes: [
        `Signed requests from a separate sender process to ${harness.eventsUrl} and to the bare app, timed from send to the HTTP 200 (fetch, keep-alive).`,
        `${ROUNDS} alternating rounds of ${perRound} per side after ${WARM_UP} warm-ups each; "status posted" is send → chat.postMessage at the fake Slack.`,
      ],
      details: {
        commands: COMMANDS,
        concurrency: CONCURRENCY,
        rounds: ROUNDS,
        bot: { ack: botAck, statusPosted: endToEnd, eventLoopDelay: botLoop },
        baseline: { ack: bareAck, eventLoopDelay: bareLoop },
      },
    };
  } finally {
    await sender.stop();
    await baseline.stop();
  }
}

/** How late a 5 ms timer fires, sample by sample: the time the loop was held by someone else. */
function sampleLoopDelay(): { stop(): number[] } {
  const intervalMs = 5;
  const samples: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    samples.push(Math.max(0, now - last - intervalMs));
    last = now;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}

function acked(sent: { ackMs: number; status: number }[]): number[] {
  const failed = sent.find((s) => s.status !== 200);
  if (failed) throw new Error(`a status command was answered with HTTP ${failed.status}`);
  return sent.map((s) => s.ackMs);
}

/** Sends a batch to the bot and also times each command until its status is posted to its own channel. */
async function sendAndTrack(sender: SlackSender, job: Parameters<SlackSender['send']>[0], slack: BenchContext['harness']['slack']): Promise<Batch> {
  // Waiting starts before sending, so a fast post cannot slip past unnoticed.
  const postedAt = new Map(
    job.channels.map((channel) => [
      channel,
      slack.waitFor('chat.postMessage', (call) => call.body.channel === channel, POST_TIMEOUT_MS).then(
        () => absoluteNow(),
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      ),
    ]),
  );
  const sent = await sender.send(job);
  const ackMs = acked(sent);
  const endToEndMs: number[] = [];
  for (const command of sent) {
    const at = await postedAt.get(command.channel);
    if (at instanceof Error) throw at;
    if (at !== undefined) endToEndMs.push(at - command.sentAt);
  }
  return { ackMs, endToEndMs };
}

async function startBareBoltApp(signingSecret: string, slackApiUrl: string): Promise<{ eventsUrl: string; stop(): Promise<void> }> {
  const app = new App({
    token: 'xoxb-bench-baseline',
    signingSecret,
    processBeforeResponse: false,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl, retryConfig: { retries: 0 } },
  });
  app.command('/recipedb', async ({ ack }) => {
    await ack();
  });
  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
  const { port } = server.address() as AddressInfo;
  return { eventsUrl: `http://127.0.0.1:${port}/slack/events`, stop: () => app.stop().then(() => undefined) };
}
