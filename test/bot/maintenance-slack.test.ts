/**
 * The Cancel button of SPEC section 9 through the real Bolt receiver and signed Slack clicks: a
 * VACUUM made slow (vacuum_cost_delay, as on a throttled production server) shows its progress
 * with a Cancel button; a stranger's click is refused; the requester's click, sent to the OTHER
 * replica, cancels it there through the state database and the maintenance session's pid. A gated
 * VACUUM FULL waiting for its lock is cancelled from its approval request by an approver.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../support/bot.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';
import { rendered, textOf, tsOf } from '../support/slack-messages.js';
import type { SlackCall } from '../support/fake-slack.js';

const env = { APPROVERS: 'U_BOB', MAINTENANCE_PROGRESS_INTERVAL: '200ms', MAINTENANCE_LOCK_TIMEOUT: '1s' };

let one: TestBot;
let other: TestBot;
let databaseUrl: string;
let admin: pg.Client;

const cancelChoice = (call: SlackCall) => rendered(call).choices.find((c) => c.actionId === 'maintenance_cancel');

async function maintenanceSessions(): Promise<number> {
  const { rows } = await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'recipedb-ops maintenance%'");
  return rows.length;
}

beforeAll(async () => {
  databaseUrl = await createDemoTestDatabase();
  const stateDatabaseUrl = await createTestDatabase('state');
  admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query('CREATE TABLE recipe_manager.click_log (id int PRIMARY KEY, page text NOT NULL) WITH (autovacuum_enabled = false)');
  await admin.query("INSERT INTO recipe_manager.click_log SELECT g, repeat('p', 100) FROM generate_series(1, 20000) g");
  await admin.query('DELETE FROM recipe_manager.click_log WHERE id % 2 = 0');
  // A throttled VACUUM (about ten pages a second): new sessions of this database only.
  const database = new URL(databaseUrl).pathname.slice(1);
  await admin.query(`ALTER DATABASE "${database}" SET vacuum_cost_delay = 100`);
  await admin.query(`ALTER DATABASE "${database}" SET vacuum_cost_limit = 1`);
  one = await startTestBot({ env, databaseUrl, stateDatabaseUrl });
  other = await startTestBot({ env, databaseUrl, stateDatabaseUrl, slack: one.slack });
});

afterAll(async () => {
  await other?.stop();
  await one?.stop();
  await admin?.end();
});

describe('Cancel', () => {
  it('the requester cancels a running VACUUM from its progress message, through the other replica; strangers cannot', async () => {
    one.slack.reset();
    await one.client.command('vacuum recipe_manager.click_log', { userId: 'U_ALICE' });
    const progress = await one.slack.waitFor(
      'chat.update',
      (c) => cancelChoice(c) !== undefined && /scanning heap \d+%/.test(textOf(c)),
      15_000,
    );
    const ts = tsOf(await one.slack.waitFor('chat.postMessage'));
    const runId = cancelChoice(progress)?.value ?? '';
    expect(runId).toMatch(/^m-/);
    expect(textOf(progress)).toMatch(/Step 1\/1: VACUUM \(ANALYZE\) recipe_manager\.click_log — scanning heap \d+% \([\d,]+ of [\d,]+ blocks\)/);
    expect(cancelChoice(progress)?.confirm).toContain('The running statement is cancelled');

    await other.client.blockAction({ actionId: 'maintenance_cancel', value: runId, userId: 'U_EVE', messageTs: ts });
    const refused = await one.slack.waitFor('chat.postEphemeral', (c) => c.body.user === 'U_EVE');
    expect(String(refused.body.text)).toContain('You cannot cancel this: only <@U_ALICE> or the approvers (<@U_BOB>) can.');
    expect(await maintenanceSessions()).toBe(1);

    await other.client.blockAction({ actionId: 'maintenance_cancel', value: runId, userId: 'U_ALICE', messageTs: ts });
    const accepted = await one.slack.waitFor('chat.postEphemeral', (c) => c.body.user === 'U_ALICE');
    expect(String(accepted.body.text)).toContain('Cancelling VACUUM (ANALYZE) of 1 table');
    const answer = await one.slack.waitFor('chat.update', (c) => c.body.ts === ts && textOf(c).includes('not finished'), 15_000);
    const text = textOf(answer);
    expect(text).toContain('VACUUM (ANALYZE): not finished');
    expect(text).toContain('VACUUM (ANALYZE) of 1 table: cancelled by @U_ALICE (0 of 1 done)');
    expect(text).toMatch(/1\. VACUUM \(ANALYZE\) recipe_manager\.click_log — FAILED after [\d.]+m?s: cancelled by @U_ALICE/);
    expect(cancelChoice(answer)).toBeUndefined();
    expect(await maintenanceSessions()).toBe(0);
    // Nothing redraws the answer afterwards.
    const updates = one.slack.callsTo('chat.update').length;
    await new Promise((r) => setTimeout(r, 600));
    expect(one.slack.callsTo('chat.update').length).toBe(updates);
  });

  it('an approver cancels an approved VACUUM FULL that waits for its lock, from the approval request', async () => {
    const forgotten = new pg.Client({ connectionString: databaseUrl, application_name: 'report-batch' });
    await forgotten.connect();
    try {
      await forgotten.query('BEGIN');
      await forgotten.query('SELECT count(*) FROM recipe_manager.click_log');
      one.slack.reset();
      await one.client.command('vacuum full recipe_manager.click_log', { userId: 'U_ALICE' });
      const request = await one.slack.waitFor('chat.postMessage');
      const ts = tsOf(request);
      const approve = rendered(request).choices.find((c) => c.actionId === 'approval_approve');
      expect(textOf(request)).toContain('lock: ACCESS EXCLUSIVE lock: reads and writes of the table wait until it is done');
      await one.client.blockAction({ actionId: 'approval_approve', value: approve?.value ?? '', userId: 'U_BOB', messageTs: ts });
      const retrying = await one.slack.waitFor('chat.update', (c) => c.body.ts === ts && cancelChoice(c) !== undefined && textOf(c).includes('trying again'), 15_000);
      expect(textOf(retrying)).toContain('@U_ALICE or an approver may cancel it.');

      await other.client.blockAction({ actionId: 'maintenance_cancel', value: cancelChoice(retrying)?.value ?? '', userId: 'U_BOB', messageTs: ts });
      const outcome = await one.slack.waitFor('chat.update', (c) => c.body.ts === ts && textOf(c).includes('Outcome:'), 15_000);
      expect(textOf(outcome)).toContain('Outcome: VACUUM FULL of 1 table: cancelled by @U_BOB (0 of 1 done)');
      expect(cancelChoice(outcome)).toBeUndefined();
      expect(await maintenanceSessions()).toBe(0);
    } finally {
      await forgotten.end();
    }
  });
});
