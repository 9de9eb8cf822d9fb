/**
 * A maintenance run left "running" by a replica that died is finished by a live one, once, and
 * the channel's open incident and the audit log say what became of it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sweepInterruptedMaintenanceRuns } from '../../src/jobs/maintenance-run-sweep.js';
import { readAudit } from '../../src/state/audit-log.js';
import { insertMaintenanceRun, latestUnfinishedMaintenanceRun } from '../../src/state/maintenance-runs.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';

let bot: TestBot;

beforeAll(async () => {
  bot = await startTestBot({ databaseUrl: await createDemoTestDatabase(), stateDatabaseUrl: await createTestDatabase('state') });
});

afterAll(async () => {
  await bot?.stop();
});

it('finishes the run of a replica that is gone and records it in the open incident', async () => {
  const { state } = bot.services;
  await bot.client.command('incident start "Checkout slow" --severity sev2', { userId: 'U_ALICE', channelId: 'C_OPS' });
  await expect.poll(async () => (await state.query('SELECT 1 FROM incidents')).rowCount, { timeout: 10_000 }).toBe(1);
  await state.query(`INSERT INTO replicas (instance, host, pid, left_at) VALUES ('dead:1:x', 'dead', 1, now())`);
  const alive = await insertMaintenanceRun(state, { operation: 'vacuum', summary: 'VACUUM of 1 table', requester: 'U_ALICE', channel: 'C_OPS', instance: bot.services.instance });
  const dead = await insertMaintenanceRun(state, { operation: 'vacuum full', summary: 'VACUUM FULL of recipe_manager.recipes', requester: 'U_ALICE', channel: 'C_OPS', instance: 'dead:1:x' });

  const [first, second] = await Promise.all([sweepInterruptedMaintenanceRuns(bot.services), sweepInterruptedMaintenanceRuns(bot.services)]);
  expect([...(first ?? []), ...(second ?? [])].map((r) => r.id)).toEqual([dead.id]);
  // The live replica's run is left alone.
  expect((await latestUnfinishedMaintenanceRun(state))?.id).toBe(alive.id);

  const { rows } = await state.query<{ text: string }>(`SELECT text FROM incident_events WHERE kind = 'action.recovered'`);
  expect(rows.map((r) => r.text)).toEqual([
    'vacuum full (VACUUM FULL of recipe_manager.recipes) was interrupted: the replica running it (dead:1:x) stopped; the database ended its statement, and nothing more of it runs. Run it again if it is still needed.',
  ]);
  expect((await readAudit(state, 50)).filter((e) => e.kind === 'action.recovered').map((e) => e.action)).toEqual(['vacuum full']);
});
