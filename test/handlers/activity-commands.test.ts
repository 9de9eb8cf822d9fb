/**
 * `queries`, `active`, `connections` and `locks` against a real database with real sessions:
 * load, a sleeping query, an idle transaction and a row lock, set up the way they happen in
 * production. Asserted on the handlers' typed results; how they look is test/bot/views/.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/ops/postgres/pool.js';
import { readSlowestStatements } from '../../src/ops/postgres/statements.js';
import { listActiveQueries } from '../../src/ops/postgres/activity.js';
import { queriesHandler, type QueriesResult } from '../../src/handlers/queries.js';
import { activeHandler } from '../../src/handlers/active.js';
import { connectionsHandler } from '../../src/handlers/connections.js';
import { locksHandler } from '../../src/handlers/locks.js';
import { statusHandler, type StatusResult } from '../../src/handlers/status.js';
import type { ServerStatus } from '../../src/ops/postgres/server-status.js';
import { handlerContext, openTestServices, type TestServices } from '../support/services.js';
import { argsProblem, runHandler } from '../support/handlers.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';

const APP = 'recipe-app';

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

const ctx = () => handlerContext(services);
const words = (positional: string[], flags: Record<string, string | true> = {}) => ({ positional, flags });

async function available(result: QueriesResult): Promise<Extract<QueriesResult, { available: true }>> {
  if (!result.available) throw new Error(`pg_stat_statements is missing (${result.missing})`);
  return result;
}

async function postgresOf(result: StatusResult): Promise<ServerStatus> {
  if (!result.postgres.ok) throw new Error(`PostgreSQL did not answer: ${result.postgres.reason}`);
  return result.postgres.data;
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
  it('lists the costliest statements first, with their calls', async () => {
    const { client } = await openSession();
    // Only this database's statistics: the demo data generation would otherwise top the list.
    await client.query(`SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)`);
    for (let i = 0; i < 5; i++) await client.query('SELECT pg_sleep(0.05)');
    for (let i = 0; i < 40; i++) await client.query('SELECT title FROM recipe_manager.recipes WHERE id = $1', [i + 1]);
    for (let i = 0; i < 20; i++) await client.query('SELECT count(*) FROM recipe_manager.reviews WHERE rating >= $1', [i % 5]);
    for (let i = 0; i < 10; i++) await client.query('SELECT count(*) FROM recipe_manager.ingredients');

    const result = await available(await runHandler(queriesHandler, ctx(), words(['5'])));
    expect(result).toMatchObject({ limit: 5, by: 'total' });
    expect(result.statements).toHaveLength(5);
    const [first] = result.statements;
    expect(first).toMatchObject({ query: 'SELECT pg_sleep($1)', calls: 5, rows: 5, user: 'postgres' });
    expect(first?.meanMs).toBeGreaterThanOrEqual(50);
    expect(first?.meanMs).toBeLessThan(60);
    expect(first?.totalMs).toBeGreaterThanOrEqual(250);
    expect(result.statements).toContainEqual(expect.objectContaining({ query: 'SELECT title FROM recipe_manager.recipes WHERE id = $1', calls: 40 }));
    expect(result.statements.some((s) => /pg_stat_statements_reset/.test(s.query))).toBe(false);
    expect(result.statsSince).toBeInstanceOf(Date);
  });

  it.each([
    [['0'], {}, 'N must be a whole number between 1 and 50'],
    [['51'], {}, 'N must be a whole number between 1 and 50'],
    [['abc'], {}, 'N must be a whole number between 1 and 50'],
    [['5', '10'], {}, 'takes at most one argument: N'],
    [[], { all: true }, 'does not know --all; it takes only --by total|mean|calls'],
  ] as const)('refuses %j %j', (positional, flags, problem) => {
    expect(argsProblem(queriesHandler, { positional: [...positional], flags })).toBe(problem);
  });

  it('says pg_stat_statements is missing when the database lacks it', async () => {
    const url = await createTestDatabase('nostats');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('DROP EXTENSION pg_stat_statements');
    await admin.end();
    const db = createPool({ url, connectMs: 3_000, statementMs: 5_000 });
    try {
      const result = await queriesHandler.run({ limit: 10, by: 'total' }, { ...handlerContext(services), db });
      expect(result).toMatchObject({ available: false, missing: 'not-created', limit: 10 });
      expect(result.measuredAt).toBeInstanceOf(Date);
    } finally {
      await db.end();
    }
  });

  it('returns 50 long statements whole, for the view to fit', async () => {
    const { client } = await openSession();
    // pg_stat_statements ignores aliases: statements differ by the number of columns they select.
    const columns = (count: number): string =>
      Array.from({ length: count }, (_, i) => `title AS "a rather long column alias number ${i} with <angle> & ampersand"`).join(', ');
    for (let i = 0; i < 55; i++) {
      await client.query(`SELECT ${columns(20 + i)} FROM recipe_manager.recipes WHERE id = $1`, [1]);
    }
    const result = await available(await runHandler(queriesHandler, ctx(), words(['50'])));
    expect(result.statements).toHaveLength(50);
    expect(result.statements.some((s) => s.query.includes('<angle> & ampersand') && s.query.length > 1_000)).toBe(true);
  });
});

describe('readSlowestStatements', () => {
  it('reads up to 50 statements', async () => {
    const top = await readSlowestStatements(services.db, { limit: 50 });
    expect(top.available).toBe(true);
    if (top.available) expect(top.statements.length).toBeLessThanOrEqual(50);
  });
});

describe('active', () => {
  it('lists a long-running query with its pid, and none of the bot’s own sessions', async () => {
    const { client, pid } = await openSession();
    const sleeping = client.query('SELECT pg_sleep(30) /* nightly report */').catch(() => undefined);
    await waitForSession(pid, `state = 'active' AND query LIKE '%pg_sleep(30)%'`);
    // A bot connection busy at the same time must not be listed either.
    const busyBot = services.db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.5)');

    const result = await runHandler(activeHandler, ctx());
    const botPid = (await busyBot).rows[0]?.pid;
    expect(result).toMatchObject({ olderThanMs: null, viaReservedSession: false });
    expect(result.queries).toEqual([
      expect.objectContaining({ pid, user: 'postgres', application: APP, clientAddr: '127.0.0.1', state: 'active', waitEvent: 'Timeout:PgSleep', query: 'SELECT pg_sleep(30) /* nightly report */' }),
    ]);
    expect(result.queries.map((q) => q.pid)).not.toContain(botPid);
    // What `kill` needs to identify the session exactly: pid and backend_start to the microsecond.
    expect(result.queries[0]?.backendStart).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(result.queries[0]?.durationMs).toBeGreaterThan(0);
    expect(await listActiveQueries(services.db)).toEqual(result.queries.map((q) => expect.objectContaining({ pid: q.pid, backendStart: q.backendStart })));

    const older = await runHandler(activeHandler, ctx(), words([], { 'older-than': '1h' }));
    expect(older).toMatchObject({ olderThanMs: 3_600_000, queries: [] });

    await new Promise((r) => setTimeout(r, 1_100));
    const olderThanOneSecond = await runHandler(activeHandler, ctx(), words([], { 'older-than': '1s' }));
    expect(olderThanOneSecond.olderThanMs).toBe(1_000);
    expect(olderThanOneSecond.queries.map((q) => q.pid)).toEqual([pid]);

    await services.db.query('SELECT pg_cancel_backend($1)', [pid]);
    await sleeping;
  });

  it('lists every running query, longest first', async () => {
    const busy = await Promise.all(Array.from({ length: 22 }, () => openSession()));
    const sleeping = busy.map(({ client }, i) => client.query(`SELECT pg_sleep(30), ${i} AS worker`).catch(() => undefined));
    await Promise.all(busy.map(({ pid }) => waitForSession(pid, `state = 'active' AND query LIKE '%pg_sleep(30)%'`)));

    const result = await runHandler(activeHandler, ctx());
    expect(result.queries.map((q) => q.pid).sort()).toEqual(busy.map((s) => s.pid).sort());
    const started = result.queries.map((q) => q.queryStart?.getTime() ?? 0);
    expect(started).toEqual([...started].sort((a, b) => a - b));

    await services.db.query('SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid', [busy.map((s) => s.pid)]);
    await Promise.all(sleeping);
  });

  it('lists nothing when nothing runs', async () => {
    const result = await runHandler(activeHandler, ctx());
    expect(result.queries).toEqual([]);
    expect(result.measuredAt).toBeInstanceOf(Date);
  });

  it.each([
    [[], { 'older-than': 'soon' }, '--older-than needs a duration like 30s, 10m or 2h'],
    [[], { 'older-than': true }, '--older-than needs a duration like 30s, 10m or 2h'],
    [['10m'], {}, 'takes no arguments, only --older-than D'],
    [[], { user: 'bob' }, 'does not know --user; it takes only --older-than D'],
  ] as const)('refuses %j %j', (positional, flags, problem) => {
    expect(argsProblem(activeHandler, { positional: [...positional], flags })).toBe(problem);
  });
});

describe('connections', () => {
  it('counts the slots by state and by client, and lists the idle transaction with its pid', async () => {
    const { client, pid } = await openSession();
    await client.query('BEGIN');
    await client.query('SELECT count(*) FROM recipe_manager.users');
    await waitForSession(pid, `state = 'idle in transaction'`);
    await new Promise((r) => setTimeout(r, 1_200));

    const { usage, viaReservedSession } = await runHandler(connectionsHandler, ctx());
    expect(viaReservedSession).toBe(false);
    expect(usage).toMatchObject({ maxConnections: 200, superuserReserved: 3, roleReserved: 0 });
    expect(usage.total).toBeGreaterThanOrEqual(usage.botSessions + 1);
    // Its pool and its reserved session are the bot's; they are counted, not listed.
    expect(usage.botSessions).toBeGreaterThanOrEqual(2);
    expect(usage.byState).toContainEqual({ state: 'idle in transaction', count: expect.any(Number) });
    expect(usage.byClient).toContainEqual(expect.objectContaining({ user: 'postgres', application: APP, clientAddr: '127.0.0.1', database: usage.database }));
    // (In this file's database: other test files' bots share the server, and are foreign here.)
    expect(usage.byClient.some((c) => c.database === usage.database && c.application.startsWith('recipedb-ops'))).toBe(false);
    const idle = usage.idleInTransaction.find((s) => s.pid === pid);
    expect(idle).toMatchObject({ user: 'postgres', application: APP, state: 'idle in transaction', query: 'SELECT count(*) FROM recipe_manager.users' });
    expect(idle?.idleMs).toBeGreaterThanOrEqual(1_000);
    expect(usage.idleInTransactionCount).toBeGreaterThanOrEqual(1);

    // Other test files share the server: among this database's sessions, ours is the longest.
    const ours = (await services.db.query<{ pid: number }>(`
      SELECT pid FROM pg_stat_activity
       WHERE datname = current_database() AND state = 'idle in transaction'
       ORDER BY state_change LIMIT 1`)).rows[0]?.pid;
    expect(ours).toBe(pid);
    await client.query('ROLLBACK');
  });
});

describe('locks', () => {
  it('says who blocks whom, with both pids', async () => {
    const a = await openSession();
    const b = await openSession();
    await a.client.query('BEGIN');
    await a.client.query('UPDATE recipe_manager.recipes SET title = title WHERE id = 1');
    const blockedUpdate = b.client.query('UPDATE recipe_manager.recipes SET title = title WHERE id = 1').catch(() => undefined);
    await waitForSession(b.pid, `wait_event_type = 'Lock'`);

    const { report } = await runHandler(locksHandler, ctx());
    expect(report.blocked).toEqual([
      expect.objectContaining({
        pid: b.pid,
        user: 'postgres',
        application: APP,
        query: 'UPDATE recipe_manager.recipes SET title = title WHERE id = 1',
        wantedLock: { mode: 'ShareLock', lockType: 'transactionid', relation: null },
        blockers: [expect.objectContaining({ pid: a.pid, user: 'postgres', application: APP, state: 'idle in transaction', query: 'UPDATE recipe_manager.recipes SET title = title WHERE id = 1' })],
      }),
    ]);
    expect(report.blocked[0]?.blockers[0]?.transactionMs).toBeGreaterThan(0);
    expect(report.byMode).toContainEqual(expect.objectContaining({ mode: 'ShareLock', waiting: 1 }));
    expect(report.byMode).toContainEqual(expect.objectContaining({ mode: 'RowExclusiveLock', granted: expect.any(Number) }));

    await a.client.query('ROLLBACK');
    await blockedUpdate;
    expect((await runHandler(locksHandler, ctx())).report.blocked).toEqual([]);
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

    const elsewhere = await runHandler(statusHandler, ctx());
    const there = await postgresOf(elsewhere);
    expect(there.blockedQueries).toBe(0);
    expect(there.locks.waiting).toBe(0);
    expect(there.longestTransaction?.pid).not.toBe(holder.pid);
    expect(elsewhere.reasons.some((r) => /blocked/.test(r))).toBe(false);

    // The same in this database is reported.
    const here = await openSession();
    await here.client.query('BEGIN');
    await here.client.query('LOCK TABLE recipe_manager.reviews IN ACCESS EXCLUSIVE MODE');
    const blocked = await openSession();
    void blocked.client.query('SELECT count(*) FROM recipe_manager.reviews').catch(() => undefined);
    await waitForSession(blocked.pid, `wait_event_type = 'Lock'`);
    const result = await runHandler(statusHandler, ctx());
    const s = await postgresOf(result);
    expect(s.blockedQueries).toBe(1);
    expect(s.locks.waiting).toBe(1);
    expect(result.verdict).toBe('WARN');
    expect(result.reasons).toContain('1 blocked query');
  });
});
