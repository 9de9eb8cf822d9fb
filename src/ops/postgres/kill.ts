/**
 * Finding and ending backends, PgHero's `kill.rb` with a guard: a backend is identified by its pid
 * AND its `backend_start`, so a session that started later and reused the pid is never touched.
 *
 *   const targets = await findKillTargets(pool, { olderThanMs: 600_000 });
 *   const results = await signalBackends(pool, targets, 'terminate');
 */
import type pg from 'pg';
import { BOT_SESSIONS_PATTERN } from './pool.js';

export interface KillTarget {
  pid: number;
  /** ISO timestamp with microseconds, exactly as PostgreSQL reports it (the identity guard). */
  backendStart: string;
  user: string | null;
  application: string;
  state: string;
  durationSeconds: number;
  query: string;
}

export type SignalResult = 'terminated' | 'cancelled' | 'already-ended' | 'pid-reused' | 'refused';

// Text, not timestamptz: JavaScript dates lose the microseconds that make the guard exact.
const TARGET_COLUMNS = `
  pid,
  to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS backend_start,
  usename AS "user",
  coalesce(application_name, '') AS application,
  coalesce(state, '') AS state,
  extract(epoch FROM now() - CASE WHEN state = 'active' THEN query_start ELSE xact_start END)::float8 AS duration_seconds,
  query`;

const NOT_OURS = `backend_type = 'client backend' AND pid <> pg_backend_pid() AND coalesce(application_name, '') NOT LIKE $1`;

interface TargetRow {
  pid: number; backend_start: string; user: string | null; application: string; state: string; duration_seconds: number; query: string;
}

const toTarget = (r: TargetRow): KillTarget => ({
  pid: r.pid, backendStart: r.backend_start, user: r.user, application: r.application, state: r.state,
  durationSeconds: r.duration_seconds, query: r.query,
});

/** Active queries running longer than the limit (from query_start) and sessions idle in a transaction longer than it (from xact_start). */
export async function findKillTargets(pool: pg.Pool, options: { olderThanMs: number }): Promise<KillTarget[]> {
  const { rows } = await pool.query<TargetRow>(
    `SELECT ${TARGET_COLUMNS}
       FROM pg_stat_activity
      WHERE ${NOT_OURS}
        AND datname = current_database()
        AND ((state = 'active' AND query_start < now() - $2 * interval '1 millisecond')
          OR (state LIKE 'idle in transaction%' AND xact_start < now() - $2 * interval '1 millisecond'))
      ORDER BY duration_seconds DESC`,
    [BOT_SESSIONS_PATTERN, options.olderThanMs],
  );
  return rows.map(toTarget);
}

/** The backend with this pid, if it is a client of this database and not the bot itself. */
export async function findBackend(pool: pg.Pool, pid: number): Promise<KillTarget | null> {
  const { rows } = await pool.query<TargetRow>(
    `SELECT ${TARGET_COLUMNS} FROM pg_stat_activity WHERE ${NOT_OURS} AND datname = current_database() AND pid = $2`,
    [BOT_SESSIONS_PATTERN, pid],
  );
  return rows[0] ? toTarget(rows[0]) : null;
}

/** Signals each target only if the same backend (pid and start time) is still there. */
export async function signalBackends(
  pool: pg.Pool,
  targets: readonly Pick<KillTarget, 'pid' | 'backendStart'>[],
  mode: 'terminate' | 'cancel',
): Promise<{ pid: number; result: SignalResult }[]> {
  const results: { pid: number; result: SignalResult }[] = [];
  for (const target of targets) {
    const { rows } = await pool.query<{ same: boolean; signalled: boolean | null }>(
      `SELECT to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') = $3 AS same,
              CASE WHEN to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') = $3
                   THEN CASE WHEN $4 = 'cancel' THEN pg_cancel_backend(pid) ELSE pg_terminate_backend(pid) END
              END AS signalled
         FROM pg_stat_activity
        WHERE pid = $2 AND ${NOT_OURS}`,
      [BOT_SESSIONS_PATTERN, target.pid, target.backendStart, mode],
    );
    const row = rows[0];
    const result: SignalResult = !row
      ? 'already-ended'
      : !row.same
        ? 'pid-reused'
        : row.signalled
          ? mode === 'cancel' ? 'cancelled' : 'terminated'
          : 'refused';
    results.push({ pid: target.pid, result });
  }
  return results;
}
