/**
 * What the runbook's daily health check looks at, read in one round trip per question.
 *
 *   const status = await readServerStatus(pool); // { version, uptimeSeconds, connections, … }
 */
import type pg from 'pg';
import { BOT_SESSIONS_PATTERN } from './pool.js';

export interface ConnectionsByState {
  state: string;
  count: number;
}

export interface ServerStatus {
  version: string;
  versionNum: number;
  database: string;
  startedAt: Date;
  uptimeSeconds: number;
  maxConnections: number;
  connections: ConnectionsByState[];
  totalConnections: number;
  idleInTransaction: number;
  cacheHitRatio: { tables: number | null; indexes: number | null };
  commits: number;
  rollbacks: number;
  deadlocks: number;
  /** Cumulative, like commits: the history takes the cache hit of each interval from their increases. */
  blocksHit: number;
  blocksRead: number;
  /** When this database's counters were last reset (null: never since the server started). */
  statsResetAt: Date | null;
  databaseSizeBytes: number;
  longestTransaction: { pid: number; seconds: number; state: string; query: string } | null;
  blockedQueries: number;
  locks: { granted: number; waiting: number };
  replication: { clientAddr: string | null; state: string; lagBytes: number | null }[];
  isReplica: boolean;
}

/** Transactions and locks are this database's (other databases on the server are not its problems); connections are the server's, as max_connections is. */
export async function readServerStatus(pool: pg.Pool): Promise<ServerStatus> {
  const [server, connections, cache, db, longest, locks, replication] = await Promise.all([
    pool.query<{ version: string; version_num: string; database: string; started_at: Date; uptime: number; max_connections: number; is_replica: boolean }>(`
      SELECT split_part(version(), ' on ', 1) AS version,
             current_setting('server_version_num') AS version_num,
             current_database() AS database,
             pg_postmaster_start_time() AS started_at,
             extract(epoch FROM now() - pg_postmaster_start_time())::float8 AS uptime,
             current_setting('max_connections')::int AS max_connections,
             pg_is_in_recovery() AS is_replica`),
    pool.query<{ state: string; count: number }>(`
      SELECT coalesce(state, 'background') AS state, count(*)::int AS count
        FROM pg_stat_activity
       WHERE backend_type = 'client backend'
       GROUP BY 1 ORDER BY 2 DESC`),
    pool.query<{ tables: number | null; indexes: number | null }>(`
      SELECT (SELECT sum(heap_blks_hit)::float8 / nullif(sum(heap_blks_hit) + sum(heap_blks_read), 0) FROM pg_statio_user_tables) AS tables,
             (SELECT sum(idx_blks_hit)::float8 / nullif(sum(idx_blks_hit) + sum(idx_blks_read), 0) FROM pg_statio_user_indexes) AS indexes`),
    pool.query<{ commits: string; rollbacks: string; deadlocks: string; size: string; blks_hit: string; blks_read: string; stats_reset: Date | null }>(`
      SELECT xact_commit AS commits, xact_rollback AS rollbacks, deadlocks, pg_database_size(datname) AS size, blks_hit, blks_read, stats_reset
        FROM pg_stat_database WHERE datname = current_database()`),
    pool.query<{ pid: number; seconds: number; state: string; query: string }>(`
      SELECT pid, extract(epoch FROM now() - xact_start)::float8 AS seconds, coalesce(state, '') AS state, query
        FROM pg_stat_activity
       WHERE xact_start IS NOT NULL AND backend_type = 'client backend' AND datname = current_database()
         AND pid <> pg_backend_pid() AND coalesce(application_name, '') NOT LIKE $1
       ORDER BY xact_start LIMIT 1`, [BOT_SESSIONS_PATTERN]),
    pool.query<{ granted: number; waiting: number; blocked: number }>(`
      SELECT count(*) FILTER (WHERE l.granted)::int AS granted,
             count(*) FILTER (WHERE NOT l.granted)::int AS waiting,
             count(DISTINCT l.pid) FILTER (WHERE NOT l.granted)::int AS blocked
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE a.datname = current_database()`),
    pool.query<{ client_addr: string | null; state: string; lag_bytes: string | null }>(`
      SELECT client_addr::text, state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text AS lag_bytes
        FROM pg_stat_replication`).catch(() => ({ rows: [] })),
  ]);
  const s = server.rows[0];
  const d = db.rows[0];
  const c = cache.rows[0];
  const l = locks.rows[0];
  if (!s || !d) throw new Error('the database returned no status rows');
  const byState = connections.rows;
  return {
    version: s.version,
    versionNum: Number(s.version_num),
    database: s.database,
    startedAt: s.started_at,
    uptimeSeconds: s.uptime,
    maxConnections: s.max_connections,
    connections: byState,
    totalConnections: byState.reduce((sum, r) => sum + r.count, 0),
    idleInTransaction: byState.filter((r) => r.state.startsWith('idle in transaction')).reduce((sum, r) => sum + r.count, 0),
    cacheHitRatio: { tables: c?.tables ?? null, indexes: c?.indexes ?? null },
    commits: Number(d.commits),
    rollbacks: Number(d.rollbacks),
    deadlocks: Number(d.deadlocks),
    blocksHit: Number(d.blks_hit),
    blocksRead: Number(d.blks_read),
    statsResetAt: d.stats_reset,
    databaseSizeBytes: Number(d.size),
    longestTransaction: longest.rows[0] ?? null,
    blockedQueries: l?.blocked ?? 0,
    locks: { granted: l?.granted ?? 0, waiting: l?.waiting ?? 0 },
    replication: replication.rows.map((r) => ({ clientAddr: r.client_addr, state: r.state, lagBytes: r.lag_bytes === null ? null : Number(r.lag_bytes) })),
    isReplica: s.is_replica,
  };
}
