/**
 * Who blocks whom in this database: every session waiting for a lock, with the sessions that
 * hold it up (pg_blocking_pids), and how many locks of each mode are held or awaited.
 *
 *   const report = await readLockReport(pool);
 *   report.blocked[0]?.blockers[0]?.pid; // the session to look at first
 */
import type pg from 'pg';

export interface Blocker {
  /** 0 means a prepared transaction, which has no session. */
  pid: number;
  user: string | null;
  application: string | null;
  /** null when the blocker is not visible in pg_stat_activity (prepared transaction, other database). */
  state: string | null;
  query: string | null;
  transactionMs: number | null;
}

export interface BlockedQuery {
  pid: number;
  user: string | null;
  application: string;
  query: string;
  /** Since the blocked query started. */
  waitingMs: number | null;
  /** The lock it waits for, e.g. `ShareLock` on `transactionid`, `AccessExclusiveLock` on `recipe_manager.recipes`. */
  wantedMode: string | null;
  lockedItem: string | null;
  blockers: Blocker[];
}

export interface LocksByMode {
  mode: string;
  granted: number;
  waiting: number;
}

export interface LockReport {
  blocked: BlockedQuery[];
  byMode: LocksByMode[];
}

interface BlockedRow {
  pid: number;
  user: string | null;
  application: string;
  query: string;
  waiting_ms: number | null;
  wanted_mode: string | null;
  locked_item: string | null;
  blockers: { pid: number; user: string | null; application: string | null; state: string | null; query: string | null; transaction_ms: number | null }[];
}

export async function readLockReport(pool: pg.Pool): Promise<LockReport> {
  const [blocked, byMode] = await Promise.all([
    // pg_blocking_pids briefly locks the lock manager, so it runs only for sessions that do wait.
    pool.query<BlockedRow>(`
      WITH waiting AS MATERIALIZED (
        SELECT pid, usename, application_name, query, query_start
          FROM pg_stat_activity
         WHERE wait_event_type = 'Lock'
           AND datname = current_database()
           AND pid <> pg_backend_pid()
      ), blocked AS MATERIALIZED (
        SELECT w.*, pg_blocking_pids(w.pid) AS blocking_pids FROM waiting w
      ), ungranted AS MATERIALIZED (
        SELECT pid, mode, coalesce(relation::regclass::text, locktype) AS locked_item
          FROM pg_locks
         WHERE NOT granted
      )
      SELECT b.pid, b.usename AS user, b.application_name AS application, b.query,
             extract(epoch FROM now() - b.query_start)::float8 * 1000 AS waiting_ms,
             u.mode AS wanted_mode, u.locked_item,
             (SELECT coalesce(json_agg(json_build_object(
                       'pid', p.pid, 'user', a.usename, 'application', a.application_name, 'state', a.state,
                       'query', a.query, 'transaction_ms', extract(epoch FROM now() - a.xact_start)::float8 * 1000)
                       ORDER BY p.pid), '[]')
                FROM unnest(b.blocking_pids) AS p(pid)
                LEFT JOIN pg_stat_activity a ON a.pid = p.pid) AS blockers
        FROM blocked b
        LEFT JOIN ungranted u ON u.pid = b.pid
       WHERE cardinality(b.blocking_pids) > 0
       ORDER BY b.query_start ASC NULLS LAST, b.pid`),
    pool.query<LocksByMode>(`
      SELECT mode, count(*) FILTER (WHERE granted)::int AS granted, count(*) FILTER (WHERE NOT granted)::int AS waiting
        FROM pg_locks
       WHERE pid <> pg_backend_pid()
         AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())
       GROUP BY mode
       ORDER BY count(*) DESC, mode`),
  ]);
  return {
    blocked: blocked.rows.map((row) => ({
      pid: row.pid,
      user: row.user,
      application: row.application,
      query: row.query,
      waitingMs: row.waiting_ms,
      wantedMode: row.wanted_mode,
      lockedItem: row.locked_item,
      blockers: row.blockers.map((b) => ({
        pid: b.pid,
        user: b.user,
        application: b.application,
        state: b.state,
        query: b.query,
        transactionMs: b.transaction_ms,
      })),
    })),
    byMode: byMode.rows,
  };
}
