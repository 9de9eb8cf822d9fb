/**
 * What the runbook's daily health check looks at, read in one round trip per question.
 *
 *   const status = await readServerStatus(db); // { version, uptimeSeconds, connections, … }
 */
import { botSessionPids, type Queryable } from './bot-sessions.js';
import { eachQuery } from './pool.js';

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
  /** The server's client sessions by state, the bot's own left out. */
  connections: ConnectionsByState[];
  /** Every client session on the server, the bot's included: what max_connections limits. */
  totalConnections: number;
  /** This database's share of them, the bot's left out. */
  databaseConnections: number;
  /** The bot's own sessions on the server (its pools, its reserved session). */
  botConnections: number;
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
  /** This database's locks, the bot's left out. */
  locks: { granted: number; waiting: number };
  /** Locks the bot's own sessions hold (reading pg_stat_activity takes some). */
  botLocks: number;
  replication: { clientAddr: string | null; state: string; lagBytes: number | null }[];
  isReplica: boolean;
}

/**
 * Transactions and locks are this database's (other databases on the server are not its problems);
 * connections are the server's, as max_connections is, with this database's share. The bot's own
 * sessions and locks are counted apart, so the figures are the database's.
 */
export async function readServerStatus(db: Queryable): Promise<ServerStatus> {
  const bot = botSessionPids(db);
  const [server, connections, cache, stats, longest, locks, replication] = await eachQuery(db, [
    () => db.query<{ version: string; version_num: string; database: string; started_at: Date; uptime: number; max_connections: number; is_replica: boolean }>(`
      SELECT split_part(version(), ' on ', 1) AS version,
             current_setting('server_version_num') AS version_num,
             current_database() AS database,
             pg_postmaster_start_time() AS started_at,
             extract(epoch FROM now() - pg_postmaster_start_time())::float8 AS uptime,
             current_setting('max_connections')::int AS max_connections,
             pg_is_in_recovery() AS is_replica`),
    () => db.query<{ state: string; here: boolean; bot: boolean; count: number }>(`
      SELECT coalesce(state, 'background') AS state, coalesce(datname = current_database(), false) AS here,
             (pid = pg_backend_pid() OR pid = ANY($1::int[])) AS bot, count(*)::int AS count
        FROM pg_stat_activity
       WHERE backend_type = 'client backend'
       GROUP BY 1, 2, 3`, [bot]),
    () => db.query<{ tables: number | null; indexes: number | null }>(`
      SELECT (SELECT sum(heap_blks_hit)::float8 / nullif(sum(heap_blks_hit) + sum(heap_blks_read), 0) FROM pg_statio_user_tables) AS tables,
             (SELECT sum(idx_blks_hit)::float8 / nullif(sum(idx_blks_hit) + sum(idx_blks_read), 0) FROM pg_statio_user_indexes) AS indexes`),
    () => db.query<{ commits: string; rollbacks: string; deadlocks: string; size: string; blks_hit: string; blks_read: string; stats_reset: Date | null }>(`
      SELECT xact_commit AS commits, xact_rollback AS rollbacks, deadlocks, pg_database_size(datname) AS size, blks_hit, blks_read, stats_reset
        FROM pg_stat_database WHERE datname = current_database()`),
    () => db.query<{ pid: number; seconds: number; state: string; query: string }>(`
      SELECT pid, extract(epoch FROM now() - xact_start)::float8 AS seconds, coalesce(state, '') AS state, query
        FROM pg_stat_activity
       WHERE xact_start IS NOT NULL AND backend_type = 'client backend' AND datname = current_database()
         AND pid <> pg_backend_pid() AND pid <> ALL($1::int[])
       ORDER BY xact_start LIMIT 1`, [bot]),
    () => db.query<{ granted: number; waiting: number; blocked: number; bot: number }>(`
      SELECT count(*) FILTER (WHERE l.granted AND NOT a.bot)::int AS granted,
             count(*) FILTER (WHERE NOT l.granted AND NOT a.bot)::int AS waiting,
             count(DISTINCT l.pid) FILTER (WHERE NOT l.granted AND NOT a.bot)::int AS blocked,
             count(*) FILTER (WHERE a.bot)::int AS bot
        FROM pg_locks l
        JOIN (SELECT pid, (pid = pg_backend_pid() OR pid = ANY($1::int[])) AS bot
                FROM pg_stat_activity WHERE datname = current_database()) a ON a.pid = l.pid`, [bot]),
    () => db.query<{ client_addr: string | null; state: string; lag_bytes: string | null }>(`
      SELECT client_addr::text, state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text AS lag_bytes
        FROM pg_stat_replication`).catch(() => ({ rows: [] })),
  ]);
  const s = server.rows[0];
  const d = stats.rows[0];
  const c = cache.rows[0];
  const l = locks.rows[0];
  if (!s || !d) throw new Error('the database returned no status rows');
  const others = connections.rows.filter((r) => !r.bot);
  const byState = [...others.reduce((m, r) => m.set(r.state, (m.get(r.state) ?? 0) + r.count), new Map<string, number>())]
    .map(([state, count]) => ({ state, count }))
    .sort((a, b) => b.count - a.count || a.state.localeCompare(b.state));
  const sum = (rows: { count: number }[]): number => rows.reduce((total, r) => total + r.count, 0);
  return {
    version: s.version,
    versionNum: Number(s.version_num),
    database: s.database,
    startedAt: s.started_at,
    uptimeSeconds: s.uptime,
    maxConnections: s.max_connections,
    connections: byState,
    totalConnections: sum(connections.rows),
    databaseConnections: sum(others.filter((r) => r.here)),
    botConnections: sum(connections.rows.filter((r) => r.bot)),
    idleInTransaction: sum(others.filter((r) => r.here && r.state.startsWith('idle in transaction'))),
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
    botLocks: l?.bot ?? 0,
    replication: replication.rows.map((r) => ({ clientAddr: r.client_addr, state: r.state, lagBytes: r.lag_bytes === null ? null : Number(r.lag_bytes) })),
    isReplica: s.is_replica,
  };
}
