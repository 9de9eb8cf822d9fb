/**
 * The one "who blocks whom" query behind `locks` and the restore's lock-wait watch: a report job
 * holding a table and a row, a restore-like session waiting for the table, an application
 * session waiting for the row.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endWaitingSession, readLockWaits } from '../../src/ops/postgres/lock-wait.js';
import { readLockReport } from '../../src/ops/postgres/locks.js';
import { createPool } from '../../src/ops/postgres/pool.js';
import { createDemoTestDatabase } from '../support/postgres.js';

let pool: pg.Pool;
const sessions: { client: pg.Client; pid: number }[] = [];

async function openSession(url: string, application: string): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: url, application_name: application });
  client.on('error', () => undefined); // terminated at the end on purpose
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const session = { client, pid: (rows[0] as { pid: number }).pid };
  sessions.push(session);
  return session;
}

async function waitForLockWait(pid: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`, [pid]);
    if (rows.length > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`session ${pid} never waited for a lock`);
}

let holder: { pid: number };
let restore: { pid: number };
let app: { pid: number };

beforeAll(async () => {
  const url = await createDemoTestDatabase();
  pool = createPool({ url, connectMs: 3_000, statementMs: 5_000 });
  const report = await openSession(url, 'cron-report');
  await report.client.query('BEGIN');
  await report.client.query('UPDATE recipe_manager.recipes SET title = title WHERE id = 1');
  await report.client.query('LOCK TABLE recipe_manager.reviews IN ACCESS EXCLUSIVE MODE');
  const restoring = await openSession(url, 'restore-like');
  void restoring.client.query('SELECT count(*) FROM recipe_manager.reviews').catch(() => undefined);
  const application = await openSession(url, 'recipe-app');
  void application.client.query('UPDATE recipe_manager.recipes SET title = title WHERE id = 1').catch(() => undefined);
  await Promise.all([waitForLockWait(restoring.pid), waitForLockWait(application.pid)]);
  [holder, restore, app] = [report, restoring, application];
});

afterAll(async () => {
  await pool.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [sessions.map((s) => s.pid)]);
  await Promise.all(sessions.map((s) => s.client.end().catch(() => undefined)));
  await pool.end();
});

describe('readLockWaits', () => {
  it('names, for one session (by pid), the table it waits for and who holds it, idle in transaction for how long', async () => {
    const waits = await readLockWaits(pool, { pid: restore.pid });
    expect(waits).toHaveLength(1);
    const [wait] = waits;
    expect(wait).toMatchObject({
      pid: restore.pid,
      application: 'restore-like',
      query: 'SELECT count(*) FROM recipe_manager.reviews',
      wantedLock: { mode: 'AccessShareLock', lockType: 'relation', relation: 'recipe_manager.reviews' },
      blockers: [{ pid: holder.pid, application: 'cron-report', state: 'idle in transaction' }],
    });
    expect(wait?.backendStart).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(wait?.waitingMs).toBeGreaterThanOrEqual(0);
    expect(wait?.blockers[0]?.stateMs).toBeGreaterThanOrEqual(0);
    expect(wait?.blockers[0]?.transactionMs).toBeGreaterThanOrEqual(wait?.blockers[0]?.stateMs ?? Infinity);
  });

  it('without a session, lists every wait of the database, a row lock as a wait on a transaction id', async () => {
    const waits = await readLockWaits(pool);
    expect(waits.map((w) => w.pid).sort((a, b) => a - b)).toEqual([restore.pid, app.pid].sort((a, b) => a - b));
    expect(waits.find((w) => w.pid === app.pid)).toMatchObject({
      wantedLock: { mode: 'ShareLock', lockType: 'transactionid', relation: null },
      blockers: [{ pid: holder.pid }],
    });
    const report = await readLockReport(pool);
    expect(report.blocked.map((w) => w.pid)).toEqual(waits.map((w) => w.pid));
  });

  it('ends a waiting session only when it is still the same one', async () => {
    const [wait] = await readLockWaits(pool, { pid: app.pid });
    if (!wait) throw new Error('the application session does not wait');
    expect(await endWaitingSession(pool, { pid: wait.pid, backendStart: '2000-01-01T00:00:00.000000Z' })).toBe('not-waiting');
    expect(await endWaitingSession(pool, wait)).toBe('ended');
  });
});
