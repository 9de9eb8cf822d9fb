/**
 * Who blocks whom in this database: every session waiting for a lock, with the sessions it waits
 * behind (pg_blocking_pids). The `locks` command shows them all; the restore follows its own psql
 * session, because pg_dump's `SET lock_timeout = 0` would let a forgotten session holding a table
 * keep it waiting forever without a word. The restore's session is named by its backend pid:
 * any user can take any application_name.
 *
 *   const [wait] = await readLockWaits(pool, { pid: psqlPid });
 *   wait?.blockers[0]?.pid; // 4242, idle in transaction for 12 minutes
 *   await endWaitingSession(pool, wait); // 'ended': its transaction rolls back
 */
import type pg from 'pg';

export interface Blocker {
  /** 0 means a prepared transaction, which has no session. */
  pid: number;
  user: string | null;
  application: string | null;
  /** null when the blocker is not visible in pg_stat_activity (prepared transaction, another user's session). */
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
  user: string | null;
  application: string;
  query: string;
  /** Since the waiting statement started: a statement that waits does nothing else. */
  waitingMs: number;
  /**
   * The lock it waits for, e.g. `ShareLock` on a `transactionid`, `AccessExclusiveLock` on the
   * relation `recipe_manager.recipes`; null when it was granted meanwhile.
   */
  wantedLock: { mode: string; lockType: string; relation: string | null } | null;
  /**
   * The sessions it waits behind (pg_blocking_pids), lowest pid first. Empty when the lock was
   * granted meanwhile, or for the locks pg_blocking_pids does not know (relation extension).
   */
  blockers: Blocker[];
}

interface LockWaitRow {
  pid: number;
  backend_start: string;
  user: string | null;
  application: string;
  query: string;
  waiting_ms: number;
  wanted_lock: LockWait['wantedLock'];
  blockers: Blocker[];
}

// Text, not timestamptz: JavaScript dates lose the microseconds that make the identity exact.
const BACKEND_START = `to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * The sessions of this database that wait for a lock — only the session `pid` when given —
 * longest waiting first. Ages are measured with clock_timestamp(): now() would be the
 * start of the transaction this runs in.
 */
export async function readLockWaits(pool: pg.Pool, options: { pid?: number } = {}): Promise<LockWait[]> {
  // pg_blocking_pids briefly locks the lock manager, so it runs only for sessions that do wait.
  // Query texts are cut at 1,000 characters: enough for the 400 the `locks` view shows at most.
  const { rows } = await pool.query<LockWaitRow>(
    `WITH waiting AS MATERIALIZED (
       SELECT pid, ${BACKEND_START} AS backend_start, usename, application_name, query, query_start
         FROM pg_stat_activity
        WHERE datname = current_database()
          AND wait_event_type = 'Lock'
          AND pid <> pg_backend_pid()
          AND ($1::int IS NULL OR pid = $1)
     ), wanted AS MATERIALIZED (
       SELECT DISTINCT ON (pid) pid,
              json_build_object('mode', mode, 'lockType', locktype, 'relation', relation::regclass::text) AS lock
         FROM pg_locks
        WHERE NOT granted
          AND pid IN (SELECT pid FROM waiting)
     )
     SELECT w.pid, w.backend_start, w.usename AS user, w.application_name AS application, left(w.query, 1000) AS query,
            greatest(extract(epoch FROM clock_timestamp() - w.query_start)::float8 * 1000, 0) AS waiting_ms,
            l.lock AS wanted_lock,
            (SELECT coalesce(json_agg(json_build_object(
                      'pid', p.pid, 'user', a.usename, 'application', a.application_name, 'state', a.state,
                      'stateMs', extract(epoch FROM clock_timestamp() - a.state_change)::float8 * 1000,
                      'transactionMs', extract(epoch FROM clock_timestamp() - a.xact_start)::float8 * 1000,
                      'query', left(a.query, 1000))
                      ORDER BY p.pid), '[]')
               FROM unnest(pg_blocking_pids(w.pid)) AS p(pid)
               LEFT JOIN pg_stat_activity a ON a.pid = p.pid) AS blockers
       FROM waiting w
       LEFT JOIN wanted l ON l.pid = w.pid
      ORDER BY w.query_start ASC NULLS LAST, w.pid`,
    [options.pid ?? null],
  );
  return rows.map((row) => ({
    pid: row.pid,
    backendStart: row.backend_start,
    user: row.user,
    application: row.application,
    query: row.query,
    waitingMs: row.waiting_ms,
    wantedLock: row.wanted_lock,
    blockers: row.blockers,
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
