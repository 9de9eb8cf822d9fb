/**
 * SPEC section 9 on a real database: a VACUUM FULL that meets a forgotten transaction holding the
 * table gives up after MAINTENANCE_LOCK_TIMEOUT and tries again, so the application's queries
 * issued meanwhile are not stuck behind it; it names the session that holds the lock; it goes
 * through once that session is gone; and a table big enough to take a while shows its progress.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openTestServices, type TestServices } from '../support/services.js';
import { createDemoTestDatabase } from '../support/postgres.js';
import { requestAndApprove, type ApprovedRun } from '../support/approve.js';

let services: TestServices;
let databaseUrl: string;
const clients: pg.Client[] = [];

async function connect(applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: applicationName });
  client.on('error', () => undefined);
  await client.connect();
  clients.push(client);
  return client;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The bot's maintenance session, once it waits for a lock. */
async function maintenanceWaiting(observer: pg.Client): Promise<number> {
  return until('the maintenance session to wait for its lock', async () => {
    const { rows } = await observer.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'recipedb-ops maintenance%' AND wait_event_type = 'Lock'",
    );
    return rows[0]?.pid;
  });
}

async function relfilenode(observer: pg.Client, table: string): Promise<number> {
  const { rows } = await observer.query<{ node: number }>('SELECT relfilenode AS node FROM pg_class WHERE oid = $1::regclass', [table]);
  return rows[0]?.node ?? 0;
}

beforeAll(async () => {
  databaseUrl = await createDemoTestDatabase();
  services = await openTestServices({ databaseUrl, env: { APPROVERS: 'U_BOB', MAINTENANCE_LOCK_TIMEOUT: '500ms', MAINTENANCE_PROGRESS_INTERVAL: '100ms' } });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
});

afterAll(async () => {
  await services?.close();
});

describe('a VACUUM FULL that meets a long transaction', () => {
  it('gives up within the lock timeout and retries, while the application\'s queries keep running, then names who holds the lock', async () => {
    const observer = await connect('test observer');
    const forgotten = await connect('report-batch');
    await forgotten.query('BEGIN');
    await forgotten.query('SELECT count(*) FROM recipe_manager.recipes');
    const holderPid = (await forgotten.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    const before = await relfilenode(observer, 'recipe_manager.recipes');

    let finished = false;
    const running: Promise<ApprovedRun> = requestAndApprove(services, 'vacuum full recipe_manager.recipes').finally(() => {
      finished = true;
    });
    await maintenanceWaiting(observer);

    // Issued while VACUUM FULL waits in the queue for its ACCESS EXCLUSIVE lock: without
    // lock_timeout it would wait behind it as long as the forgotten transaction stays open.
    const application = await connect('recipe-app');
    const { rows } = await application.query<{ n: string }>('SELECT count(*) AS n FROM recipe_manager.recipes');
    expect(Number(rows[0]?.n)).toBe(300);
    const holder = await observer.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE pid = $1', [holderPid]);
    expect(holder.rows[0]?.state).toBe('idle in transaction');
    expect(finished).toBe(false);

    const approved = await running;
    expect(approved.progress.map((p) => p.text).join('\n')).toMatch(/could not get its lock within 500ms \(pid \d+ \(report-batch, user postgres\) idle in transaction for [\d.]+m?s\); trying again, attempt 2 of 4/);
    expect(approved.outcome).toContain('Outcome: VACUUM FULL of 1 table: VACUUM (FULL, ANALYZE) recipe_manager.recipes could not get its lock (0 of 1 done)');
    expect(approved.outcome).toMatch(
      new RegExp(`gave up after 4 attempts: it could not get its lock within 500ms \\(MAINTENANCE_LOCK_TIMEOUT\\) each time; held by pid ${holderPid} \\(report-batch, user postgres\\) idle in transaction for [\\d.]+m?s — end it with \`kill ${holderPid}\` if it is stuck`),
    );
    expect(approved.outcome).toContain('Next: see who holds the lock with `locks`');
    // Nothing was rewritten.
    expect(await relfilenode(observer, 'recipe_manager.recipes')).toBe(before);
    await forgotten.query('ROLLBACK');
  });

  it('goes through on a later attempt once the transaction has ended', async () => {
    const observer = await connect('test observer');
    const forgotten = await connect('report-batch');
    await forgotten.query('BEGIN');
    await forgotten.query('SELECT count(*) FROM recipe_manager.users');
    const before = await relfilenode(observer, 'recipe_manager.users');
    let retrying: () => void = () => undefined;
    const retried = new Promise<void>((resolve) => (retrying = resolve));
    const running = requestAndApprove(services, 'vacuum full recipe_manager.users', {
      onProgress: (text) => {
        if (text.includes('trying again')) retrying();
      },
    });
    await retried;
    await forgotten.query('COMMIT');
    const approved = await running;
    expect(approved.outcome).toContain('Outcome: VACUUM FULL of 1 table: done');
    expect(approved.outcome).toMatch(/1\. VACUUM \(FULL, ANALYZE\) recipe_manager\.users — ok .* · after [2-4] attempts/);
    expect(await relfilenode(observer, 'recipe_manager.users')).not.toBe(before);
  });
});

describe('a concurrent index build that meets a writer\'s open transaction', () => {
  it('gives up, drops the invalid index it left, and builds it once the transaction has ended', async () => {
    const setup = await connect('test setup');
    await setup.query('CREATE TABLE recipe_manager.shopping_items (id int, name text)');
    await setup.query("INSERT INTO recipe_manager.shopping_items SELECT g, 'item ' || g FROM generate_series(1, 1000) g");
    const writer = await connect('recipe-app');
    await writer.query('BEGIN');
    await writer.query("INSERT INTO recipe_manager.shopping_items VALUES (1001, 'eggs')");
    let cleaning: () => void = () => undefined;
    const cleaningUp = new Promise<void>((resolve) => (cleaning = resolve));
    const running = requestAndApprove(services, 'index create shopping_items name', {
      onProgress: (text) => {
        if (text.includes('dropping the invalid index')) cleaning();
      },
    });
    await cleaningUp;
    await writer.query('COMMIT');
    const approved = await running;
    const lines = approved.progress.map((p) => p.text).join('\n');
    expect(lines).toContain('dropping the invalid index shopping_items_name_idx it left behind');
    expect(approved.outcome).toContain('Outcome: index recipe_manager.shopping_items_name_idx: done');
    expect(approved.outcome).toMatch(/CREATE INDEX CONCURRENTLY recipe_manager\.shopping_items_name_idx — ok .* · [\d.]+ KiB, valid · after [2-4] attempts/);
    const { rows } = await setup.query<{ name: string; valid: boolean }>(
      "SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'recipe_manager.shopping_items'::regclass",
    );
    expect(rows).toEqual([{ name: 'shopping_items_name_idx', valid: true }]);
  });
});

describe('progress', () => {
  it('shows the phase and how far it got, for a table big enough to take a while', async () => {
    const setup = await connect('test setup');
    await setup.query('CREATE TABLE recipe_manager.recipe_views (id bigint PRIMARY KEY, recipe_id int NOT NULL, viewed_at timestamptz NOT NULL)');
    await setup.query("INSERT INTO recipe_manager.recipe_views SELECT g, g % 300, timestamptz '2026-01-01' + g * interval '1 second' FROM generate_series(1, 600000) g");
    await setup.query('DELETE FROM recipe_manager.recipe_views WHERE id % 2 = 0');
    const approved = await requestAndApprove(services, 'vacuum full recipe_manager.recipe_views');
    expect(approved.outcome).toContain('Outcome: VACUUM FULL of 1 table: done');
    const lines = approved.progress.map((p) => p.text);
    expect(lines[0]).toBe('Step 1/1: VACUUM (FULL, ANALYZE) recipe_manager.recipe_views…');
    // What the statement reported while it ran, from pg_stat_progress_cluster (and _analyze).
    expect(lines.slice(1).some((l) => /^Step 1\/1: VACUUM \(FULL, ANALYZE\) recipe_manager\.recipe_views — [a-z ]+ \d{1,3}% \([\d,]+ of [\d,]+ (blocks|rows)\)$/.test(l))).toBe(true);
    // Every progress message carries the Cancel button of this run.
    expect(new Set(approved.progress.map((p) => p.cancelRun)).size).toBe(1);
    expect(approved.progress[0]?.cancelRun).toMatch(/^m-[0-9a-f]{12}$/);
  });
});
