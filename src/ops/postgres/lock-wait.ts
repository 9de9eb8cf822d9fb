/**
 * Whether the sessions of one application wait for a lock, and who holds it up: the restore's
 * psql follows pg_dump's `SET lock_timeout = 0`, so a forgotten session holding a table would
 * otherwise make it wait forever without a word.
 *
 *   const [wait] = await whoBlocks(pool, 'recipedb-ops restore');
 *   wait?.blockers[0]?.pid; // 4242, idle in transaction for 12 minutes
 *   await endWaitingSession(pool, wait); // 'ended': its transaction rolls back
 */
import type pg from 'pg';

export interface LockHolder {
  /** 0 means a prepared transaction, which has no session. */
  pid: number;
  user: string | null;
  application: string | null;
  /** null when the holder is not in pg_stat_activity (a prepared transaction). */
  state: string | null;
  /** Since its state last changed: how long it has been idle in transaction, or running its query. */
  stateMs: number | null;
  transactionMs: number | null;
  query: string | null;
}

export interface LockWait {
  /** The waiting session. */
  pid: number;
  /** With the pid, identifies the session exactly (a later one may reuse the pid). */
  backendStart: string;
  /** Since the waiting statement started: a statement that waits does nothing else. */
  waitingMs: number;
  /** The table it waits for, such as `recipe_manager.recipes`; null for other locks (a transaction id). */
  lockedItem: string | null;
  /** The sessions it waits behind (pg_blocking_pids), lowest pid first. */
  blockers: LockHolder[];
}

interface LockWaitRow {
  pid: number;
  backend_start: string;
  waiting_ms: number;
  locked_item: string | null;
  blockers: {
    pid: number;
    user: string | null;
    application: string | null;
    state: string | null;
    state_ms: number | null;
    transaction_ms: number | null;
    query: string | null;
  }[];
}

// Text, not timestamptz: JavaScript dates lose the microseconds that make the identity exact.
const BACKEND_START = `to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The sessions named `applicationName` in this database that wait for a lock, longest waiting first. */
export async function whoBlocks(pool: pg.Pool, applicationName: string): Promise<LockWait[]> {
  // pg_blocking_pids briefly locks the lock manager, so it runs only for sessions that do wait.
  const { rows } = await pool.query<LockWaitRow>(
    `WITH waiting AS MATERIALIZED (
       SELECT pid, ${BACKEND_START} AS backend_start, query_start
         FROM pg_stat_activity
        WHERE datname = current_database()
          AND application_name = $1
          AND wait_event_type = 'Lock'
          AND pid <> pg_backend_pid()
     )
     SELECT w.pid, w.backend_start,
            greatest(extract(epoch FROM clock_timestamp() - w.query_start)::float8 * 1000, 0) AS waiting_ms,
            (SELECT l.relation::regclass::text
               FROM pg_locks l
              WHERE l.pid = w.pid AND NOT l.granted
              LIMIT 1) AS locked_item,
            (SELECT coalesce(json_agg(json_build_object(
                      'pid', p.pid, 'user', a.usename, 'application', a.application_name, 'state', a.state,
                      'state_ms', extract(epoch FROM clock_timestamp() - a.state_change)::float8 * 1000,
                      'transaction_ms', extract(epoch FROM clock_timestamp() - a.xact_start)::float8 * 1000,
                      'query', left(a.query, 200))
                      ORDER BY p.pid), '[]')
               FROM unnest(pg_blocking_pids(w.pid)) AS p(pid)
               LEFT JOIN pg_stat_activity a ON a.pid = p.pid) AS blockers
       FROM waiting w
      ORDER BY w.query_start ASC NULLS LAST, w.pid`,
    [applicationName],
  );
  return rows.map((row) => ({
    pid: row.pid,
    backendStart: row.backend_start,
    waitingMs: row.waiting_ms,
    lockedItem: row.locked_item,
    blockers: row.blockers.map((b) => ({
      pid: b.pid,
      user: b.user,
      application: b.application,
      state: b.state,
      stateMs: b.state_ms,
      transactionMs: b.transaction_ms,
      query: b.query,
    })),
  }));
}

/** 'not-waiting': it got its lock (or ended) meanwhile and was left alone. */
export type EndWaitResult = 'ended' | 'not-waiting' | 'refused';

/**
 * Terminates the session only while it is the same one and still waits for a lock: a statement
 * waiting for a lock has not committed, so its transaction rolls back. (A killed client alone is
 * not enough: a backend waiting for a lock does not notice its client is gone, and keeps the
 * locks it took until the lock it waits for is granted.)
 */
export async function endWaitingSession(pool: pg.Pool, session: Pick<LockWait, 'pid' | 'backendStart'>): Promise<EndWaitResult> {
  const { rows } = await pool.query<{ ended: boolean }>(
    `SELECT pg_terminate_backend(pid) AS ended
       FROM pg_stat_activity
      WHERE pid = $1 AND ${BACKEND_START} = $2 AND wait_event_type = 'Lock'`,
    [session.pid, session.backendStart],
  );
  const row = rows[0];
  if (!row) return 'not-waiting';
  return row.ended ? 'ended' : 'refused';
}

/** True once the session is no longer connected (a terminated backend takes a moment to exit). */
export async function sessionGone(pool: pg.Pool, session: Pick<LockWait, 'pid' | 'backendStart'>): Promise<boolean> {
  const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND ${BACKEND_START} = $2`, [session.pid, session.backendStart]);
  return rows.length === 0;
}
