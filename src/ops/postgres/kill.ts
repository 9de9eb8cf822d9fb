/**
 * Finding and ending backends, PgHero's `kill.rb` with guards. A target is identified by its pid AND
 * its `backend_start` (a later session may reuse the pid), and it is signalled only while what made
 * it a target still holds: the same running query (`query_start`, still active) or the same open
 * transaction (`xact_start`). A query that finished meanwhile leaves a pooled connection that now
 * serves someone else: it is left alone. The bot's own sessions (bot-sessions.ts) are never targets.
 *
 *   const targets = await findKillTargets(db, { olderThanMs: 600_000 });
 *   const results = await signalBackends(db, targets, 'terminate');
 */
import { botSessionPids, type Queryable } from './bot-sessions.js';

/**
 * Why the session is a target: its running query (`query`), its open transaction (`transaction`),
 * or only itself (`session`: `kill <pid>` of a session doing neither).
 */
export type KillReason = 'query' | 'transaction' | 'session';

export interface KillTarget {
  pid: number;
  /** ISO timestamp with microseconds, exactly as PostgreSQL reports it (the identity guard). */
  backendStart: string;
  reason: KillReason;
  /** `query_start` (reason query) or `xact_start` (reason transaction), with microseconds; null for a session. */
  since: string | null;
  user: string | null;
  application: string;
  state: string;
  durationSeconds: number;
  query: string;
}

export type SignalResult = 'terminated' | 'cancelled' | 'already-ended' | 'pid-reused' | 'finished' | 'bot-session' | 'refused';

// Text, not timestamptz: JavaScript dates lose the microseconds that make the guards exact.
const US = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const REASON = `CASE WHEN state = 'active' THEN 'query' WHEN state LIKE 'idle in transaction%' THEN 'transaction' ELSE 'session' END`;

const TARGET_COLUMNS = `
  pid,
  ${US('backend_start')} AS backend_start,
  ${REASON} AS reason,
  CASE WHEN state = 'active' THEN ${US('query_start')} WHEN state LIKE 'idle in transaction%' THEN ${US('xact_start')} END AS since,
  usename AS "user",
  coalesce(application_name, '') AS application,
  coalesce(state, '') AS state,
  coalesce(extract(epoch FROM now() - CASE WHEN state = 'active' THEN query_start WHEN state LIKE 'idle in transaction%' THEN xact_start ELSE state_change END), 0)::float8 AS duration_seconds,
  query`;

const NOT_OURS = `backend_type = 'client backend' AND pid <> pg_backend_pid() AND pid <> ALL($1::int[])`;

interface TargetRow {
  pid: number; backend_start: string; reason: KillReason; since: string | null; user: string | null; application: string; state: string;
  duration_seconds: number; query: string;
}

const toTarget = (r: TargetRow): KillTarget => ({
  pid: r.pid, backendStart: r.backend_start, reason: r.reason, since: r.since, user: r.user, application: r.application, state: r.state,
  durationSeconds: r.duration_seconds, query: r.query,
});

/**
 * Active queries running longer than the limit (from query_start) and, unless only queries are
 * wanted (`--cancel` has nothing to cancel in an idle session), sessions idle in a transaction
 * longer than it (from xact_start).
 */
export async function findKillTargets(db: Queryable, options: { olderThanMs: number; queriesOnly?: boolean }): Promise<KillTarget[]> {
  const { rows } = await db.query<TargetRow>(
    `SELECT ${TARGET_COLUMNS}
       FROM pg_stat_activity
      WHERE ${NOT_OURS}
        AND datname = current_database()
        AND ((state = 'active' AND query_start < now() - $2 * interval '1 millisecond')
          OR (NOT $3 AND state LIKE 'idle in transaction%' AND xact_start < now() - $2 * interval '1 millisecond'))
      ORDER BY duration_seconds DESC`,
    [botSessionPids(db), options.olderThanMs, options.queriesOnly ?? false],
  );
  return rows.map(toTarget);
}

/** The backend with this pid, if it is a client of this database and not one of the bot's sessions. */
export async function findBackend(db: Queryable, pid: number): Promise<KillTarget | null> {
  const { rows } = await db.query<TargetRow>(
    `SELECT ${TARGET_COLUMNS} FROM pg_stat_activity WHERE ${NOT_OURS} AND datname = current_database() AND pid = $2`,
    [botSessionPids(db), pid],
  );
  return rows[0] ? toTarget(rows[0]) : null;
}

/**
 * Signals each target only if it is the same backend (pid and start time) and still what made it
 * a target; checked and signalled in one statement, so the window between the two is as small as
 * the server makes it.
 */
export async function signalBackends(
  db: Queryable,
  targets: readonly Pick<KillTarget, 'pid' | 'backendStart' | 'reason' | 'since'>[],
  mode: 'terminate' | 'cancel',
): Promise<{ pid: number; result: SignalResult }[]> {
  const results: { pid: number; result: SignalResult }[] = [];
  for (const target of targets) {
    const { rows } = await db.query<{ ours: boolean; same: boolean; still: boolean; signalled: boolean | null }>(
      `WITH session AS (
         SELECT pid,
                NOT (${NOT_OURS}) AS ours,
                ${US('backend_start')} = $3 AS same,
                CASE $4::text
                  WHEN 'query' THEN state = 'active' AND ${US('query_start')} IS NOT DISTINCT FROM $5
                  WHEN 'transaction' THEN ${US('xact_start')} IS NOT DISTINCT FROM $5
                  ELSE true
                END AS still
           FROM pg_stat_activity
          WHERE pid = $2
       )
       SELECT ours, same, coalesce(still, false) AS still,
              CASE WHEN same AND still AND NOT ours THEN CASE WHEN $6 = 'cancel' THEN pg_cancel_backend(pid) ELSE pg_terminate_backend(pid) END END AS signalled
         FROM session`,
      [botSessionPids(db), target.pid, target.backendStart, target.reason, target.since, mode],
    );
    const row = rows[0];
    const result: SignalResult = !row
      ? 'already-ended'
      : row.ours
        ? 'bot-session'
        : !row.same
        ? 'pid-reused'
        : !row.still
          ? 'finished'
          : row.signalled
            ? mode === 'cancel' ? 'cancelled' : 'terminated'
            : 'refused';
    results.push({ pid: target.pid, result });
  }
  return results;
}
