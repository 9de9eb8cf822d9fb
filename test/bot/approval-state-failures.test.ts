/**
 * The approval engine when its state database misbehaves: an outcome the database refuses is
 * shown as "ran; outcome not recorded" (never "nothing was changed") and written once it can be;
 * a plan edited in the state database, hash and all, is refused at execution.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findApproval } from '../../src/state/approvals.js';
import { readAudit } from '../../src/state/audit-log.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { messageOf, rendered, textOf, tsOf } from '../support/slack-messages.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('approvals when the state database fails', () => {
  let bot: TestBot;
  const sessions: pg.Client[] = [];

  beforeAll(async () => {
    bot = await startTestBot({ env: { APPROVERS: 'U_BOB' } });
  });
  afterEach(async () => {
    await bot.services.state.query('DROP TRIGGER IF EXISTS refuse_outcomes ON approval_requests');
    await Promise.all(sessions.splice(0).map((c) => c.end().catch(() => undefined)));
  });
  afterAll(async () => {
    await bot.stop();
  });

  async function runaway(): Promise<{ pid: number; ended: Promise<string> }> {
    const client = new pg.Client({ connectionString: bot.databaseUrl, application_name: 'recipe-app' });
    client.on('error', () => undefined);
    await client.connect();
    sessions.push(client);
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const ended = client.query('SELECT pg_sleep(600)').then(() => 'finished', (e: Error) => e.message);
    await sleep(300);
    return { pid, ended };
  }

  async function request(text: string): Promise<{ ts: string; id: string }> {
    bot.slack.reset();
    await bot.client.command(text);
    const call = await bot.slack.waitFor('chat.postMessage');
    const approve = rendered(call).choices.find((c) => c.actionId === 'approval_approve');
    if (!approve) throw new Error(`no approval request:\n${textOf(call)}`);
    return { ts: tsOf(call), id: approve.value };
  }

  const alive = async (pid: number) => (await bot.services.db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 1;

  it('says "ran; outcome not recorded" while the outcome cannot be written, and records it once it can', async () => {
    const target = await runaway();
    const r = await request(`kill ${target.pid}`);
    // The decision is written; from then on the state database refuses every outcome.
    await bot.services.state.query(`
      CREATE OR REPLACE FUNCTION refuse_outcome() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$;
      CREATE TRIGGER refuse_outcomes BEFORE UPDATE ON approval_requests
        FOR EACH ROW WHEN (NEW.outcome IS NOT NULL) EXECUTE FUNCTION refuse_outcome();`);
    await bot.client.blockAction({ actionId: 'approval_approve', value: r.id, userId: 'U_BOB', messageTs: r.ts });

    const unrecorded = await bot.slack.waitFor('chat.update', (c) => c.body.ts === r.ts && textOf(c).includes('outcome not recorded'), 10_000);
    const shown = renderBlocks(messageOf(unrecorded), { width: 400 }).text;
    expect(shown).toContain('Ran; outcome not recorded');
    expect(shown).toContain('What is known: 1 of 1 terminated');
    expect(shown).toContain(`pid ${target.pid}: terminated`);
    expect(String(unrecorded.body.text)).toContain('ran; outcome not recorded: 1 of 1 terminated');
    // The action did run, and the approver is not told that nothing changed.
    expect(await target.ended).toMatch(/terminat/);
    expect(bot.slack.callsTo('chat.postEphemeral')).toHaveLength(0);
    expect((await findApproval(bot.services.state, r.id))?.outcome).toBeNull();

    await sleep(1_500);
    await bot.services.state.query('DROP TRIGGER refuse_outcomes ON approval_requests');
    const recorded = await bot.slack.waitFor('chat.update', (c) => c.body.ts === r.ts && textOf(c).includes('Outcome: 1 of 1 terminated'), 40_000);
    expect(textOf(recorded)).not.toContain('not recorded');
    const stored = await findApproval(bot.services.state, r.id);
    expect(stored?.outcome).toMatchObject({ ok: true, summary: '1 of 1 terminated' });
    expect(stored?.executedAt).not.toBeNull();
    const kinds = (await readAudit(bot.services.state, 50)).filter((e) => e.requestId === r.id).map((e) => e.kind);
    expect(kinds).toEqual(['approval.requested', 'approval.approved', 'action.executed']);
    expect(bot.slack.callsTo('chat.postEphemeral')).toHaveLength(0);
  }, 60_000);

  it('refuses a plan edited in the state database, even with a recomputed hash', async () => {
    const approved = await runaway();
    const other = await runaway();
    const r = await request(`kill ${approved.pid}`);
    // Someone with write access to the state database points the request at another session.
    const { rows } = await bot.services.state.query<{ plan: { targets: string[]; plan: { targets: { pid: number }[] } } }>(
      'SELECT plan FROM approval_requests WHERE id = $1',
      [r.id],
    );
    const plan = rows[0]!.plan;
    const backendStart = (await bot.services.db.query<{ s: string }>(
      `SELECT to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS s FROM pg_stat_activity WHERE pid = $1`,
      [other.pid],
    )).rows[0]!.s;
    plan.plan.targets = [{ ...plan.plan.targets[0]!, pid: other.pid, backendStart } as { pid: number }];
    plan.targets = [`pid ${other.pid}`];
    // The hash the old, unkeyed scheme would have expected for the edited plan.
    const canonical = (value: unknown): string =>
      Array.isArray(value)
        ? `[${value.map(canonical).join(',')}]`
        : value && typeof value === 'object'
          ? `{${Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
          : JSON.stringify(value);
    const forged = createHash('sha256').update(canonical({ action: 'kill', plan })).digest('hex');
    await bot.services.state.query('UPDATE approval_requests SET plan = $2, plan_hash = $3 WHERE id = $1', [r.id, JSON.stringify(plan), forged]);

    await bot.client.blockAction({ actionId: 'approval_approve', value: r.id, userId: 'U_BOB', messageTs: r.ts });
    const done = await bot.slack.waitFor('chat.update', (c) => c.body.ts === r.ts && textOf(c).includes('Outcome:'), 10_000);
    expect(textOf(done)).toContain('Outcome: the stored plan does not match what was approved; nothing was done');
    expect(await alive(other.pid)).toBe(true);
    expect(await alive(approved.pid)).toBe(true);
  });
});
