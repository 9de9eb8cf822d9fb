/**
 * What is running in this database right now: every client session that is not idle, longest
 * first. The bot's own sessions (by pid, bot-sessions.ts) are left out, so nothing built on this
 * list can act on the bot; a session that only calls itself `recipedb-ops` is listed like any other.
 *
 *   const slow = await listActiveQueries(pool, { olderThanMs: 600_000 }); // running 10 min or more
 */
import { botSessionPids, type Queryable } from './bot-sessions.js';

export interface ActiveQuery {
  pid: number;
  user: string | null;
  application: string;
  clientAddr: string | null;
  /** `active`, `idle in transaction`, `idle in transaction (aborted)`, `fastpath function call` … */
  state: string;
  /** `type:event`, e.g. `Lock:transactionid`; null when the session is not waiting. */
  waitEvent: string | null;
  query: string;
  /**
   * ISO timestamp with microseconds, as PostgreSQL reports it: with the pid, it identifies the
   * session (a Date would lose the microseconds, and a later session could reuse the pid).
   */
  backendStart: string;
  xactStart: Date | null;
  queryStart: Date | null;
  /** Since query_start, measured by the server's clock. */
  durationMs: number | null;
  /** Since xact_start; null outside a transaction. */
  transactionMs: number | null;
}

export interface ListActiveQueriesOptions {
  /** Only queries that started at least this long ago. */
  olderThanMs?: number;
}

interface ActivityRow {
  pid: number;
  user: string | null;
  application: string;
  client_addr: string | null;
  state: string;
  wait_event_type: string | null;
  wait_event: string | null;
  query: string;
  backend_start: string;
  xact_start: Date | null;
  query_start: Date | null;
  duration_ms: number | null;
  transaction_ms: number | null;
}

export async function listActiveQueries(db: Queryable, { olderThanMs = 0 }: ListActiveQueriesOptions = {}): Promise<ActiveQuery[]> {
  const { rows } = await db.query<ActivityRow>(
    `
    SELECT pid, usename AS user, application_name AS application, host(client_addr) AS client_addr,
           state, wait_event_type, wait_event, query,
           to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS backend_start,
           xact_start, query_start,
           extract(epoch FROM now() - query_start)::float8 * 1000 AS duration_ms,
           extract(epoch FROM now() - xact_start)::float8 * 1000 AS transaction_ms
      FROM pg_stat_activity
     WHERE backend_type = 'client backend'
       AND datname = current_database()
       AND state <> 'idle'
       AND pid <> pg_backend_pid()
       AND pid <> ALL($1::int[])
       AND ($2::float8 = 0 OR now() - query_start >= $2::float8 * interval '1 millisecond')
     ORDER BY query_start ASC NULLS LAST, pid`,
    [botSessionPids(db), olderThanMs],
  );
  return rows.map((row) => ({
    pid: row.pid,
    user: row.user,
    application: row.application,
    clientAddr: row.client_addr,
    state: row.state,
    waitEvent: row.wait_event_type === null ? null : `${row.wait_event_type}:${row.wait_event ?? ''}`,
    query: row.query,
    backendStart: row.backend_start,
    xactStart: row.xact_start,
    queryStart: row.query_start,
    durationMs: row.duration_ms,
    transactionMs: row.transaction_ms,
  }));
}
