/**
 * The console's Cancel: it has no buttons, so `cancel` typed while an answer is awaited cancels the
 * running maintenance operation at once (the line does not wait its turn behind the operation),
 * with the button's rules; typed when nothing runs, it says so.
 */
import { PassThrough } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConsole } from '../../src/bot/console.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { createDemoTestDatabase } from '../support/postgres.js';

let services: TestServices;
let admin: pg.Client;
let databaseUrl: string;

beforeAll(async () => {
  databaseUrl = await createDemoTestDatabase();
  admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query('CREATE TABLE recipe_manager.click_log (id int PRIMARY KEY, page text NOT NULL)');
  await admin.query("INSERT INTO recipe_manager.click_log SELECT g, repeat('p', 100) FROM generate_series(1, 2000) g");
  services = await openTestServices({ databaseUrl, env: { APPROVERS: 'U_BOB', MAINTENANCE_LOCK_TIMEOUT: '1s' } });
});

afterAll(async () => {
  await services?.close();
  await admin?.end();
});

/** A console on streams: what it printed so far, and a way to wait for a line of it. */
function startConsole() {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  output.on('data', (d: Buffer) => (printed += d.toString()));
  const done = runConsole({ input, output, services, userId: 'U_ALICE' });
  const waitFor = async (pattern: RegExp, timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(printed)) {
      if (Date.now() > deadline) throw new Error(`the console never printed ${pattern}; it printed:\n${printed}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { type: (line: string) => input.write(`${line}\n`), printed: () => printed, waitFor, end: () => input.end(), done };
}

describe('cancel in the console', () => {
  it('cancels an approved VACUUM FULL that waits for its lock, while the console waits for it', async () => {
    const forgotten = new pg.Client({ connectionString: databaseUrl, application_name: 'report-batch' });
    await forgotten.connect();
    try {
      await forgotten.query('BEGIN');
      await forgotten.query('SELECT count(*) FROM recipe_manager.click_log');
      const console = startConsole();
      console.type('vacuum full recipe_manager.click_log');
      await console.waitFor(/\[1\] Approve/);
      console.type('/as U_BOB');
      console.type('1');
      await console.waitFor(/trying again/);
      // Typed while the approval's answer is still awaited: handled at once, not after it.
      console.type('cancel');
      await console.waitFor(/… Cancelling VACUUM FULL of 1 table: the running statement is stopped and no further one starts\. The outcome follows\./);
      await console.waitFor(/VACUUM FULL of 1 table: cancelled by @U_BOB \(0 of 1 done\)/);
      console.type('cancel');
      console.end();
      await console.done;
      expect(console.printed()).toContain('No maintenance operation is running; nothing was cancelled.');
      const { rows } = await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'recipedb-ops maintenance%'");
      expect(rows).toHaveLength(0);
    } finally {
      await forgotten.end();
    }
  });

  it('runs a line typed behind the running one in its turn: `/as` then `cancel` cancels as the approver still', async () => {
    const forgotten = new pg.Client({ connectionString: databaseUrl });
    await forgotten.connect();
    try {
      await forgotten.query('BEGIN');
      await forgotten.query('SELECT count(*) FROM recipe_manager.click_log');
      const console = startConsole();
      console.type('vacuum full recipe_manager.click_log');
      await console.waitFor(/\[1\] Approve/);
      console.type('/as U_BOB');
      console.type('1');
      await console.waitFor(/trying again/);
      console.type('/as U_EVE');
      console.type('cancel');
      // `/as` waits its turn behind the running approval: the cancel is still Bob's.
      await console.waitFor(/… Cancelling VACUUM FULL/);
      console.end();
      await console.done;
      expect(console.printed()).toContain('cancelled by @U_BOB');
    } finally {
      await forgotten.end();
    }
  });
});
