/**
 * `queries`, `active`, `connections` and `locks` against a real database with real sessions:
 * load, a sleeping query, an idle transaction and a row lock, set up the way they happen in production.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { LIMITS } from '../../src/bot/blocks.js';
import { dispatchCommand, type Reply } from '../../src/bot/dispatch.js';
import { createPool } from '../../src/ops/postgres/pool.js';
import { readSlowestStatements } from '../../src/ops/postgres/statements.js';
import { listActiveQueries } from '../../src/ops/postgres/activity.js';
import { queriesHandler } from '../../src/handlers/queries.js';
import { queriesView } from '../../src/bot/views/queries-view.js';
import { handlerContext, openTestServices, type TestServices } from '../support/services.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';

const APP = 'recipe-app';
const actor = { userId: 'U_ALICE', channelId: 'C_OPS' };

let services: TestServices;
let databaseUrl: string;
const sessions: { client: pg.Client; pid: number }[] = [];

/** A session of "the application", as the operator would see it in pg_stat_activity. */
async function openSession(url = databaseUrl): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: url, application_name: APP });
  client.on('error', () => undefined); // a cancelled or terminated session is expected here
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const session = { client, pid: (rows[0] as { pid: number }).pid };
  sessions.push(session);
  return session;
}

/** Polls pg_stat_activity (with the test's own connection) until the session is in the wanted shape. */
async function waitForSession(pid: number, where: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await services.db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND ${where}`, [pid]);
    if (rows.length > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`session ${pid} never matched ${where}`);
}

async function run(text: string): Promise<Reply & { seen: string }> {
  const reply = await dispatchCommand(text, actor, services);
  return { ...reply, seen: renderBlocks(reply.message, { width: 400 }).text };
}

function jsonSize(reply: Reply): number {
  return JSON.stringify(reply.message.blocks).length;
}

beforeAll(async () => {
  databaseUrl = await createDemoTestDatabase();
  services = await openTestServices({ databaseUrl });
});

afterEach(async () => {
  // A closed socket does not stop a running pg_sleep or release a lock: end the sessions server-side.
  const ended = sessions.splice(0);
  await services.db.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [ended.map((s) => s.pid)]);
  await Promise.all(ended.map((s) => s.client.end().catch(() => undefined)));
});

afterAll(async () => {
  await services.close();
});

describe('queries', () => {
  it('lists the slowest statements first, with their calls', async () => {
    const { client } = await openSession();
    // Only this database's statistics: the demo data generation would otherwise top the list.
    await client.query(`SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)`);
    for (let i = 0; i < 5; i++) await client.query('SELECT pg_sleep(0.05)');
    for (let i = 0; i < 40; i++) await client.query('SELECT title FROM recipe_manager.recipes WHERE id = $1', [i + 1]);
    for (let i = 0; i < 20; i++) await client.query('SELECT count(*) FROM recipe_manager.reviews WHERE rating >= $1', [i % 5]);
    for (let i = 0; i < 10; i++) await client.query('SELECT count(*) FROM recipe_manager.ingredients');

    const started = performance.now();
    const reply = await run('queries 5');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(reply.outcome).toBe('ok');
    const lines = reply.seen.split('\n');
    const first = lines.findIndex((l) => l.startsWith('1. '));
    expect(lines[first]).toMatch(/^1\. total 2\d\dms · mean 5\dms ± [\d.]+ms · 5 calls · 5 rows · postgres$/);
    expect(lines[first + 1]).toContain('SELECT pg_sleep($1)');
    expect(reply.seen).toContain('40 calls');
    expect(reply.seen).toContain('SELECT title FROM recipe_manager.recipes WHERE id = $1');
    expect(reply.seen).not.toContain('6. ');
    expect(reply.seen).not.toMatch(/pg_stat_statements_reset/);
    expect(reply.seen).toMatch(/Top 5 of this database's statements · Statistics since \d{4}-/);
    expect(reply.seen).toMatch(/Measured at \d{4}-\d\d-\d\d/);
    expect(reply.message.text).toMatch(/^Top query by total time: 2\d\dms total, 5\dms mean over 5 calls$/);
  });

  it.each([
    ['queries 0', '`queries` N must be a whole number between 1 and 50.'],
    ['queries 51', '`queries` N must be a whole number between 1 and 50.'],
    ['queries abc', '`queries` N must be a whole number between 1 and 50.'],
    ['queries 5 10', '`queries` takes at most one argument: N.'],
    ['queries --all', '`queries` does not know --all; it takes only --by total|mean|calls.'],
  ])('answers %s with the usage', async (text, problem) => {
    const reply = await run(text);
    expect(reply.outcome).toBe('usage');
    expect(reply.ephemeral).toBe(true);
    expect(reply.seen).toContain(problem);
    expect(reply.seen).toContain('Usage: `/recipedb queries [N] [--by total|mean|calls]`');
  });

  it('says how to enable pg_stat_statements when the database lacks it', async () => {
    const url = await createTestDatabase('nostats');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('DROP EXTENSION pg_stat_statements');
    await admin.end();
    const db = createPool({ url, connectMs: 3_000, statementMs: 5_000 });
    try {
      const ctx = { ...handlerContext(services), db };
      const result = await queriesHandler.run({ limit: 10, by: 'mean' }, ctx);
      expect(result).toMatchObject({ available: false, missing: 'not-created' });
      const seen = renderBlocks(queriesView(result), { width: 400 }).text;
      expect(seen).toContain('pg_stat_statements is not installed in this database');
      expect(seen).toContain("shared_preload_libraries = 'pg_stat_statements'");
      expect(seen).toContain('Restart PostgreSQL');
      expect(seen).toContain('CREATE EXTENSION pg_stat_statements;');
      expect(seen).toContain('Measured at');
    } finally {
      await db.end();
    }
  });

  it('fits 50 long statements into one Slack message', async () => {
    const { client } = await openSession();
    // pg_stat_statements ignores aliases: statements differ by the number of columns they select.
    const columns = (count: number): string =>
      Array.from({ length: count }, (_, i) => `title AS "a rather long column alias number ${i} with <angle> & ampersand"`).join(', ');
    for (let i = 0; i < 55; i++) {
      await client.query(`SELECT ${columns(20 + i)} FROM recipe_manager.recipes WHERE id = $1`, [1]);
    }
    const reply = await run('queries 50');
    expect(reply.outcome).toBe('ok');
    expect(reply.message.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
    expect(jsonSize(reply)).toBeLessThanOrEqual(LIMITS.messageChars);
    expect(reply.seen).toContain('50. total');
    expect(reply.seen).not.toContain('cut to fit');
    expect(reply.seen).toContain('<angle> & ampersand');
  });
});

describe('active', () => {
  it('shows a long-running query with its pid and hides the bot’s own sessions', async () => {
    const { client, pid } = await openSession();
    const sleeping = client.query('SELECT pg_sleep(30) /* nightly report */').catch(() => undefined);
    await waitForSession(pid, `state = 'active' AND query LIKE '%pg_sleep(30)%'`);
    // A bot connection busy at the same time must not be listed either.
    const busyBot = services.db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.5)');

    const started = performance.now();
    const reply = await run('active');
    expect(performance.now() - started).toBeLessThan(2_000);
    const botPid = (await busyBot).rows[0]?.pid;

    expect(reply.outcome).toBe('ok');
    expect(reply.seen).toContain('Active queries');
    expect(reply.seen).toMatch(new RegExp(`pid ${pid} · [\\d.]+(ms|s) · active`));
    expect(reply.seen).toContain(`${APP} · 127.0.0.1`);
    expect(reply.seen).toContain('SELECT pg_sleep(30) /* nightly report */');
    expect(reply.seen).not.toContain('recipedb-ops');
    expect(reply.seen).not.toContain(`pid ${botPid} `);
    expect(reply.message.text).toMatch(new RegExp(`^1 query running, longest .* \\(pid ${pid}\\)$`));

    // What `kill` needs to identify the session exactly: pid and backend_start to the microsecond.
    const listed = await listActiveQueries(services.db);
    expect(listed).toEqual([expect.objectContaining({ pid, application: APP, state: 'active', waitEvent: 'Timeout:PgSleep' })]);
    expect(listed[0]?.backendStart).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    const older = await run('active --older-than 1h');
    expect(older.seen).toContain('No queries running longer than 1h.');
    expect(older.seen).not.toContain(`pid ${pid}`);

    await new Promise((r) => setTimeout(r, 1_100));
    const olderThanOneSecond = await run('active --older-than 1s');
    expect(olderThanOneSecond.seen).toContain(`pid ${pid}`);
    expect(olderThanOneSecond.seen).toContain('Active queries running longer than 1.0s');

    await services.db.query('SELECT pg_cancel_backend($1)', [pid]);
    await sleeping;
  });

  it('lists the longest 20 and says how many more run', async () => {
    const busy = await Promise.all(Array.from({ length: 22 }, () => openSession()));
    const sleeping = busy.map(({ client }, i) => client.query(`SELECT pg_sleep(30), ${i} AS worker`).catch(() => undefined));
    await Promise.all(busy.map(({ pid }) => waitForSession(pid, `state = 'active' AND query LIKE '%pg_sleep(30)%'`)));

    const reply = await run('active');
    expect(reply.message.text).toMatch(/^22 queries running, longest /);
    expect(reply.seen.match(/^pid \d+ · /gm)).toHaveLength(20);
    expect(reply.seen).toContain('… and 2 more queries');
    expect(reply.message.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
    expect(jsonSize(reply)).toBeLessThanOrEqual(LIMITS.messageChars);

    await services.db.query('SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid', [busy.map((s) => s.pid)]);
    await Promise.all(sleeping);
  });

  it('says so when nothing runs', async () => {
    const reply = await run('active');
    expect(reply.seen).toContain('No queries running right now.');
    expect(reply.seen).toContain('Measured at');
  });

  it.each([
    ['active --older-than soon', '`active` --older-than needs a duration like 30s, 10m or 2h.'],
    ['active --older-than', '`active` --older-than needs a duration like 30s, 10m or 2h.'],
    ['active 10m', '`active` takes no arguments, only --older-than D.'],
    ['active --user bob', '`active` does not know --user; it takes only --older-than D.'],
  ])('answers %s with the usage', async (text, problem) => {
    const reply = await run(text);
    expect(reply.outcome).toBe('usage');
    expect(reply.seen).toContain(problem);
    expect(reply.seen).toContain('Usage: `/recipedb active [--older-than D]`');
  });
});

describe('connections', () => {
  it('shows an idle transaction as the longest one, with its pid', async () => {
    const { client, pid } = await openSession();
    await client.query('BEGIN');
    await client.query('SELECT count(*) FROM recipe_manager.users');
    await waitForSession(pid, `state = 'idle in transaction'`);
    await new Promise((r) => setTimeout(r, 1_200));

    const started = performance.now();
    const reply = await run('connections');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(reply.outcome).toBe('ok');
    expect(reply.seen).toMatch(/In use: \d+ \/ 200 \(\d+\.\d\d%\)/);
    expect(reply.seen).toMatch(/Free: \d+, of which 3 only for superusers/);
    expect(reply.seen).toMatch(/idle in transaction \d+/);
    expect(reply.seen).toMatch(new RegExp(`• \\d+ postgres · ${APP} · 127\\.0\\.0\\.1`));
    expect(reply.seen).toMatch(/• \d+ this bot's own sessions/);
    expect(reply.seen).toContain('Longest idle in transaction');
    expect(reply.seen).toMatch(new RegExp(`pid ${pid} · idle [\\d.]+s · postgres · ${APP}\\n\\s+SELECT count\\(\\*\\) FROM recipe_manager.users`));

    // Other test files share the server: among this database's sessions, ours is the longest.
    const ours = (await services.db.query<{ pid: number }>(`
      SELECT pid FROM pg_stat_activity
       WHERE datname = current_database() AND state = 'idle in transaction'
       ORDER BY state_change LIMIT 1`)).rows[0]?.pid;
    expect(ours).toBe(pid);
    const listed = [...reply.seen.matchAll(/pid (\d+) · idle/g)].map((m) => Number(m[1]));
    expect(listed).toContain(pid);
    await client.query('ROLLBACK');
  });
});

describe('locks', () => {
  it('shows who blocks whom, with both pids', async () => {
    const a = await openSession();
    const b = await openSession();
    await a.client.query('BEGIN');
    await a.client.query('UPDATE recipe_manager.recipes SET title = title WHERE id = 1');
    const blockedUpdate = b.client.query('UPDATE recipe_manager.recipes SET title = title WHERE id = 1').catch(() => undefined);
    await waitForSession(b.pid, `wait_event_type = 'Lock'`);

    const started = performance.now();
    const reply = await run('locks');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(reply.outcome).toBe('ok');
    expect(reply.seen).toMatch(new RegExp(`pid ${b.pid} \\(postgres · ${APP}\\) waiting [\\d.]+m?s for ShareLock on transactionid`));
    expect(reply.seen).toMatch(new RegExp(`blocked by pid ${a.pid} \\(postgres · ${APP}, idle in transaction, transaction open [\\d.]+m?s\\)`));
    expect(reply.seen.match(/UPDATE recipe_manager\.recipes SET title = title WHERE id = 1/g)).toHaveLength(2);
    expect(reply.seen).toMatch(/ShareLock \d+ held, \d+ waiting/);
    expect(reply.seen).toMatch(/RowExclusiveLock \d+ held/);
    expect(reply.message.text).toBe(`1 blocked query; pid ${b.pid} is blocked by pid ${a.pid}`);

    await a.client.query('ROLLBACK');
    await blockedUpdate;
    const after = await run('locks');
    expect(after.seen).toContain('No query is waiting for a lock.');
  });
});

describe('readSlowestStatements', () => {
  it('answers within a second', async () => {
    const started = performance.now();
    const top = await readSlowestStatements(services.db, { limit: 50 });
    expect(top.available).toBe(true);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('status', () => {
  it('judges this database: a lock wait and an old transaction in another database on the server are not its problems', async () => {
    const otherUrl = await createTestDatabase('other');
    const holder = await openSession(otherUrl);
    await holder.client.query('CREATE TABLE t (id int)');
    await holder.client.query('BEGIN');
    await holder.client.query('LOCK TABLE t IN ACCESS EXCLUSIVE MODE');
    const waiter = await openSession(otherUrl);
    void waiter.client.query('SELECT * FROM t').catch(() => undefined);
    await waitForSession(waiter.pid, `wait_event_type = 'Lock'`);

    const elsewhere = await run('status');
    expect(elsewhere.seen).not.toMatch(/blocked quer/);
    expect(elsewhere.seen).not.toContain(`pid ${holder.pid}`);
    expect(elsewhere.seen).toMatch(/Locks: \d+ held · 0 waiting/);

    // The same in this database is reported.
    const here = await openSession();
    await here.client.query('BEGIN');
    await here.client.query('LOCK TABLE recipe_manager.reviews IN ACCESS EXCLUSIVE MODE');
    const blocked = await openSession();
    void blocked.client.query('SELECT count(*) FROM recipe_manager.reviews').catch(() => undefined);
    await waitForSession(blocked.pid, `wait_event_type = 'Lock'`);
    const reply = await run('status');
    expect(reply.seen).toContain('1 blocked query');
    expect(reply.seen).toMatch(/Locks: \d+ held · 1 waiting · 1 blocked/);
  });
});
