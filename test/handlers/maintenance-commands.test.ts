/**
 * The runbook's weekly and monthly maintenance and schema work through the bot, on a real
 * database: VACUUM and ANALYZE one table at a time, VACUUM FULL and REINDEX and index builds after
 * approval, each in a maintenance session of its own; bad input answered in one sentence with
 * nothing changed.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { dispatchCommand, type Reply } from '../../src/bot/dispatch.js';
import { acquireOperationLock } from '../../src/ops/operation-lock.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { createDemoTestDatabase } from '../support/postgres.js';
import { requestAndApprove, requestOnly } from '../support/approve.js';

const actor = { userId: 'U_ALICE', channelId: 'C_OPS' };

let services: TestServices;
let databaseUrl: string;
/** The application's own connection. */
let app: pg.Client;

async function run(text: string, progress?: string[]): Promise<Reply & { seen: string }> {
  const reply = await dispatchCommand(text, actor, services, { progress: async (line) => void progress?.push(line) });
  return { ...reply, seen: renderBlocks(reply.message, { width: 400 }).text };
}

async function approvalCount(): Promise<number> {
  const { rows } = await services.state.query<{ n: number }>('SELECT count(*)::int AS n FROM approval_requests');
  return rows[0]?.n ?? 0;
}

async function indexesOf(table: string): Promise<{ name: string; valid: boolean }[]> {
  const { rows } = await app.query<{ name: string; valid: boolean }>(
    'SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass ORDER BY 1',
    [table],
  );
  return rows;
}

beforeAll(async () => {
  databaseUrl = await createDemoTestDatabase();
  services = await openTestServices({ databaseUrl, env: { APPROVERS: 'U_BOB', MAINTENANCE_LOCK_TIMEOUT: '500ms', MAINTENANCE_PROGRESS_INTERVAL: '200ms' } });
  app = new pg.Client({ connectionString: databaseUrl, application_name: 'recipe-app' });
  await app.connect();
});

afterAll(async () => {
  await app?.end();
  await services?.close();
});

describe('vacuum and analyze', () => {
  it('vacuums the named table in a maintenance session and reports it', async () => {
    await app.query('DELETE FROM recipe_manager.reviews WHERE id % 3 = 0');
    const progress: string[] = [];
    const reply = await run('vacuum recipe_manager.reviews', progress);
    expect(reply.outcome).toBe('ok');
    expect(reply.seen).toContain('VACUUM (ANALYZE): done');
    expect(reply.seen).toMatch(/1\. VACUUM \(ANALYZE\) recipe_manager\.reviews — ok/);
    expect(progress[0]).toContain('Step 1/1: VACUUM (ANALYZE) recipe_manager.reviews');
    const { rows } = await app.query<{ last_vacuum: Date | null }>("SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'reviews'");
    expect(rows[0]?.last_vacuum).not.toBeNull();
  });

  it('goes through the whole database one table at a time', async () => {
    const reply = await run('analyze');
    expect(reply.outcome).toBe('ok');
    for (const table of ['ingredients', 'recipes', 'reviews', 'users']) expect(reply.seen).toMatch(new RegExp(`\\d+\\. ANALYZE recipe_manager\\.${table} — ok`));
    expect(reply.seen).toMatch(/ANALYZE of the whole database, \d+ tables: done/);
  });

  it('answers bad names in one sentence and does nothing', async () => {
    const quoted = await run('vacuum "recipes; DROP TABLE users"');
    expect(quoted.outcome).toBe('usage');
    expect(quoted.seen).toContain('is not a table or index name: use letters, digits and _');
    const unknown = await run('vacuum recipe_manager.no_such_table');
    expect(unknown.outcome).toBe('refused');
    expect(unknown.seen).toContain('There is no table `recipe_manager.no_such_table` in this database');
    const index = await run('analyze recipes_pkey');
    expect(index.seen).toContain('`recipe_manager.recipes_pkey` is an index, not a table');
    const { rows } = await app.query("SELECT 1 FROM pg_tables WHERE tablename = 'users'");
    expect(rows).toHaveLength(1);
  });

  it('refuses while another operation holds the database', async () => {
    const lock = await acquireOperationLock(services.state, { kind: 'restore', by: 'U_CAROL' });
    try {
      const reply = await run('vacuum recipe_manager.users');
      expect(reply.outcome).toBe('refused');
      expect(reply.seen).toContain('A restore is running (started by @U_CAROL): nothing was done.');
    } finally {
      await lock.release();
    }
  });
});

describe('vacuum full', () => {
  it('is refused without table names, and for unknown or badly named tables, before any approval', async () => {
    const before = await approvalCount();
    const all = await run('vacuum full');
    expect(all.outcome).toBe('refused');
    expect(all.seen).toContain('`vacuum full` without table names is refused: it would lock every table');
    expect((await run('vacuum full recipe_manager.nope')).seen).toContain('There is no table `recipe_manager.nope`');
    expect((await run("vacuum full recipes';--")).outcome).toBe('usage');
    expect(await approvalCount()).toBe(before);
  });

  it('shows the lock, what waits on it and the disk it needs, then rewrites the table after approval', async () => {
    await app.query('CREATE TABLE recipe_manager.search_log (id int PRIMARY KEY, query text NOT NULL)');
    await app.query("INSERT INTO recipe_manager.search_log SELECT g, repeat('pasta ', 20) FROM generate_series(1, 20000) g");
    await app.query('DELETE FROM recipe_manager.search_log WHERE id % 4 <> 0');
    const approved = await requestAndApprove(services, 'vacuum full search_log');
    const request = approved.request.seen;
    expect(request).toContain('Approval needed: vacuum full');
    expect(request).toMatch(/VACUUM \(FULL, ANALYZE\) recipe_manager\.search_log — table [\d.]+ MiB \+ indexes [\d.]+ KiB/);
    expect(request).toContain('lock: ACCESS EXCLUSIVE lock: reads and writes of the table wait until it is done');
    expect(request).toMatch(/disk: up to [\d.]+ MiB more while it runs/);
    expect(request).toContain('each statement waits at most 500ms for its lock (MAINTENANCE_LOCK_TIMEOUT)');
    expect(approved.outcome).toMatch(/Outcome: VACUUM FULL of 1 table: done in/);
    expect(approved.outcome).toMatch(/1\. VACUUM \(FULL, ANALYZE\) recipe_manager\.search_log — ok \([\d.]+m?s\) · [\d.]+ MiB → [\d.]+ (KiB|MiB)/);
    expect(approved.progress.some((p) => p.cancelRun?.startsWith('m-'))).toBe(true);
  });
});

describe('index create and drop', () => {
  it('a unique index over duplicates fails and leaves no invalid index behind', async () => {
    await app.query('CREATE TABLE recipe_manager.pantry (code text NOT NULL, label text)');
    await app.query("INSERT INTO recipe_manager.pantry VALUES ('flour', 'Flour'), ('sugar', 'Sugar'), ('flour', 'More flour')");
    const approved = await requestAndApprove(services, 'index create pantry code --unique');
    expect(approved.request.seen).toContain('CREATE UNIQUE INDEX CONCURRENTLY recipe_manager.pantry_code_key ON recipe_manager.pantry (code)');
    expect(approved.request.seen).toContain('a duplicate value makes the build fail');
    expect(approved.outcome).toContain('could not create unique index "pantry_code_key" (Key (code)=(flour) is duplicated.)');
    expect(approved.outcome).toContain('the invalid index it left behind (pantry_code_key) was dropped');
    expect(await indexesOf('recipe_manager.pantry')).toEqual([]);
  });

  it('builds an index concurrently, then drops it; refuses to drop one that backs a constraint', async () => {
    const created = await requestAndApprove(services, 'index create recipe_manager.recipes cuisine,difficulty --name recipes_cuisine_difficulty');
    expect(created.request.seen).toMatch(/disk: about [\d.]+ KiB \(~300 rows × \d+ bytes per entry\)/);
    expect(created.outcome).toMatch(/CREATE INDEX CONCURRENTLY recipe_manager\.recipes_cuisine_difficulty — ok .* · [\d.]+ KiB, valid/);
    expect(await indexesOf('recipe_manager.recipes')).toContainEqual({ name: 'recipes_cuisine_difficulty', valid: true });

    const dropped = await requestAndApprove(services, 'index drop recipes_cuisine_difficulty');
    expect(dropped.request.seen).toContain('DROP INDEX CONCURRENTLY recipe_manager.recipes_cuisine_difficulty on recipe_manager.recipes');
    expect(dropped.outcome).toContain('Outcome: drop of recipe_manager.recipes_cuisine_difficulty: done');
    expect((await indexesOf('recipe_manager.recipes')).map((i) => i.name)).not.toContain('recipes_cuisine_difficulty');

    const before = await approvalCount();
    const pkey = await requestOnly(services, 'index drop recipe_manager.recipes_pkey');
    expect(pkey.seen).toContain('it backs the primary key constraint `recipes_pkey`');
    const email = await requestOnly(services, 'index drop users_email_key');
    expect(email.seen).toContain('it backs the unique constraint `users_email_key`');
    expect(await approvalCount()).toBe(before);
  });

  it('answers bad input in one sentence', async () => {
    expect((await run('index create recipes nope_column')).seen).toContain('`recipe_manager.recipes` has no column `nope_column`');
    expect((await run('index create recipes "title;drop"')).seen).toContain('is not a column name');
    expect((await run('index create recipes title --name "x y"')).seen).toContain('is not an index name');
    expect((await run('index create recipes title --name recipes_pkey')).seen).toContain('already has a relation named `recipes_pkey`');
    expect((await run('index rebuild recipes')).outcome).toBe('usage');
  });
});

describe('reindex', () => {
  it('rebuilds an index and a table concurrently', async () => {
    const approved = await requestAndApprove(services, 'reindex recipes_created_at_idx recipe_manager.users');
    expect(approved.request.seen).toContain('REINDEX INDEX CONCURRENTLY recipe_manager.recipes_created_at_idx');
    expect(approved.request.seen).toContain('REINDEX TABLE CONCURRENTLY recipe_manager.users');
    expect(approved.outcome).toMatch(/REINDEX of 2 targets: done/);
    expect(await indexesOf('recipe_manager.users')).toEqual([
      { name: 'users_email_key', valid: true },
      { name: 'users_pkey', valid: true },
      { name: 'users_username_key', valid: true },
    ]);
  });

  it('--database plans every table, one at a time; names or --database, not both', async () => {
    const request = await requestOnly(services, 'reindex --database');
    expect(request.seen).toContain('Rebuild every index of the database');
    for (const table of ['ingredients', 'recipes', 'reviews', 'users']) expect(request.seen).toContain(`REINDEX TABLE CONCURRENTLY recipe_manager.${table} — `);
    expect(request.seen).toMatch(/disk: up to [\d.]+ KiB more at once/);
    expect((await run('reindex')).seen).toContain('needs the indexes or tables to rebuild, or --database');
    expect((await run('reindex --database recipes')).seen).toContain('takes index or table names, or --database, not both');
    expect((await run('reindex no_such_index')).seen).toContain('There is no table or index `no_such_index`');
  });

  it('says why an exclusion constraint index is rebuilt without CONCURRENTLY', async () => {
    await app.query('CREATE TABLE recipe_manager.bookings (slot int4range NOT NULL, EXCLUDE USING gist (slot WITH &&))');
    const request = await requestOnly(services, 'reindex recipe_manager.bookings');
    expect(request.seen).toContain("REINDEX INDEX recipe_manager.bookings_slot_excl — 8.0 KiB (not CONCURRENTLY: PostgreSQL cannot rebuild an exclusion constraint's index concurrently)");
    expect(request.seen).toContain('lock (the plain REINDEX above): SHARE lock on the table and ACCESS EXCLUSIVE on the index');
  });
});

describe('indexes', () => {
  it('--missing lists a table read mostly by sequential scans, with its figures', async () => {
    await app.query('CREATE TABLE recipe_manager.meal_plans (id int, user_id int, planned_on date)');
    await app.query("INSERT INTO recipe_manager.meal_plans SELECT g, g % 100, date '2026-01-01' + g % 365 FROM generate_series(1, 5000) g");
    await app.query('ANALYZE recipe_manager.meal_plans');
    for (let i = 0; i < 12; i++) await app.query('SELECT * FROM recipe_manager.meal_plans WHERE user_id = $1', [i]);
    await app.query('SELECT pg_stat_force_next_flush()');
    let reply = await run('indexes --missing');
    for (let i = 0; i < 50 && !reply.seen.includes('meal_plans'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      reply = await run('indexes --missing');
    }
    expect(reply.outcome).toBe('ok');
    expect(reply.seen).toMatch(/`meal_plans` ~5,000 rows/);
    expect(reply.seen).toMatch(/1[2-9] sequential scans read [\d,]+ rows \(5,000 per scan\) · 0 index scans · 100% sequential/);
    expect(reply.seen).toContain('/recipedb index create <table> <column>');
    expect((await run('indexes --missing --schema nope')).seen).toContain('There is no schema `nope`');
    expect((await run('indexes --missing=yes')).outcome).toBe('usage');
  });

  it('names the index drop to run for unused ones', async () => {
    await app.query('CREATE INDEX meal_plans_planned_on_idx ON recipe_manager.meal_plans (planned_on)');
    const reply = await run('indexes --schema recipe_manager');
    expect(reply.seen).toContain('/recipedb index drop recipe_manager.meal_plans_planned_on_idx');
  });
});

describe('bloat', () => {
  it('points to the bot\'s own vacuum commands', async () => {
    await app.query('CREATE TABLE recipe_manager.staging (id int PRIMARY KEY, payload text) WITH (autovacuum_enabled = false)');
    await app.query("INSERT INTO recipe_manager.staging SELECT g, repeat('x', 50) FROM generate_series(1, 10000) g");
    await app.query('DELETE FROM recipe_manager.staging WHERE id % 10 <> 0');
    await app.query('SELECT pg_stat_force_next_flush()');
    let reply = await run('bloat');
    for (let i = 0; i < 50 && !reply.seen.includes('/recipedb vacuum'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      reply = await run('bloat');
    }
    expect(reply.seen).toMatch(/\/recipedb vacuum [^\n]*recipe_manager\.staging/);
    expect(reply.seen).toMatch(/\/recipedb vacuum full [^\n]*recipe_manager\.staging/);
    expect(reply.seen).not.toContain('VACUUM (ANALYZE)');
  });
});
