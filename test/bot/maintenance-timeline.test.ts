/**
 * Issue 13: one result of vacuum, analyze and check is one entry of the open incident's timeline
 * (the command's verdict line); the handler's own detailed record stays in the audit log only.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../support/bot.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';

let bot: TestBot;

beforeAll(async () => {
  bot = await startTestBot({ databaseUrl: await createDemoTestDatabase(), stateDatabaseUrl: await createTestDatabase('state') });
});

afterAll(async () => {
  await bot?.stop();
});

async function timeline(): Promise<{ kind: string; text: string }[]> {
  const { rows } = await bot.services.state.query<{ kind: string; text: string }>(
    'SELECT e.kind, e.text FROM incident_events e JOIN incidents i ON i.id = e.incident_id ORDER BY e.id',
  );
  return rows;
}

/** Runs a command and waits until its result line is in the timeline (the answer is written after it). */
async function run(line: string, results: number): Promise<void> {
  await bot.client.command(line, { userId: 'U_ALICE' });
  await expect.poll(async () => (await timeline()).filter((e) => e.kind !== 'command' && e.kind !== 'incident').length, { timeout: 60_000 }).toBe(results);
}

it('vacuum, analyze and check each add one result entry to the open incident timeline', async () => {
  await bot.client.command('incident start "Slow checkout" --severity sev2', { userId: 'U_ALICE' });
  await expect.poll(async () => (await timeline()).length, { timeout: 10_000 }).toBeGreaterThan(0);
  await run('analyze recipe_manager.recipes', 1);
  await run('vacuum recipe_manager.recipes', 2);
  await run('check', 3);
  const entries = (await timeline()).filter((e) => e.kind !== 'incident');
  expect(entries.map((e) => e.kind)).toEqual(['command', 'command.result', 'command', 'command.result', 'command', 'command.result']);
  // The duration at the end is cut off: timings are never asserted.
  expect(entries.map((e) => e.text.replace(/ in \d+ ?m?s$/, ''))).toEqual([
    '/recipedb analyze recipe_manager.recipes',
    'analyze: ANALYZE: ANALYZE of 1 table: done',
    '/recipedb vacuum recipe_manager.recipes',
    'vacuum: VACUUM (ANALYZE): VACUUM (ANALYZE) of 1 table: done',
    '/recipedb check',
    'check: amcheck cannot run',
  ]);
}, 120_000);
