/**
 * Who holds the server's connection slots. Counted over the whole server, because that is what
 * max_connections limits: a full server refuses the recipe application whatever database the
 * other sessions use.
 *
 *   const usage = await readConnectionUsage(pool); // { total, maxConnections, byState, byClient, idleInTransaction }
 */
import type pg from 'pg';
import { withClient } from './pool.js';
import { botSessionPids, type Queryable } from './bot-sessions.js';

export interface ConnectionsInState {
  state: string;
  count: number;
}

export interface ConnectionsFromClient {
  user: string | null;
  application: string;
  clientAddr: string | null;
  database: string | null;
  count: number;
}

export interface IdleInTransactionSession {
  pid: number;
  user: string | null;
  application: string;
  database: string | null;
  state: string;
  /** Since state_change: how long the session has held its transaction without doing anything. */
  idleMs: number;
  /** The last statement it ran. */
  query: string;
}

export interface ConnectionUsage {
  database: string;
  maxConnections: number;
  superuserReserved: number;
  /** PostgreSQL 16+ `reserved_connections` (for pg_use_reserved_connections); 0 before. */
  roleReserved: number;
  /** Every client session on the server, the bot's included. */
  total: number;
  /** The bot's own sessions among them (its pools and reserved session), left out of the lists. */
  botSessions: number;
  byState: ConnectionsInState[];
  byClient: ConnectionsFromClient[];
  idleInTransaction: IdleInTransactionSession[];
  idleInTransactionCount: number;
}

export interface ReadConnectionUsageOptions {
  /** How many idle-in-transaction sessions to list, longest first. */
  idleLimit?: number;
}

export async function readConnectionUsage(db: Queryable, { idleLimit = 10 }: ReadConnectionUsageOptions = {}): Promise<ConnectionUsage> {
  // One connection, not one per question: this is asked when slots are scarce. One transaction,
  // because pg_stat_activity is snapshotted per transaction, so the counts add up.
  const bot = botSessionPids(db);
  return withClient(db, async (client) => {
    await client.query('BEGIN READ ONLY');
    try {
      const usage = await readUsage(client, idleLimit, bot);
      await client.query('COMMIT');
      return usage;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}

const NOT_THE_BOT = `pid <> pg_backend_pid() AND pid <> ALL($1::int[])`;

async function readUsage(client: pg.ClientBase, idleLimit: number, bot: number[]): Promise<ConnectionUsage> {
  const limits = await client.query<{ database: string; max_connections: number; superuser_reserved: number; role_reserved: number }>(`
    SELECT current_database() AS database,
           current_setting('max_connections')::int AS max_connections,
           current_setting('superuser_reserved_connections')::int AS superuser_reserved,
           coalesce(current_setting('reserved_connections', true)::int, 0) AS role_reserved`);
  const counts = await client.query<{ total: number; bot: number }>(
    `SELECT count(*)::int AS total, count(*) FILTER (WHERE NOT (${NOT_THE_BOT}))::int AS bot
       FROM pg_stat_activity WHERE backend_type = 'client backend'`,
    [bot],
  );
  const byState = await client.query<ConnectionsInState>(
    `SELECT coalesce(state, 'unknown') AS state, count(*)::int AS count
       FROM pg_stat_activity
      WHERE backend_type = 'client backend' AND ${NOT_THE_BOT}
      GROUP BY 1
      ORDER BY 2 DESC, 1`,
    [bot],
  );
  const byClient = await client.query<{ user: string | null; application: string; client_addr: string | null; database: string | null; count: number }>(
    `SELECT usename AS user, application_name AS application, host(client_addr) AS client_addr,
            datname AS database, count(*)::int AS count
       FROM pg_stat_activity
      WHERE backend_type = 'client backend' AND ${NOT_THE_BOT}
      GROUP BY 1, 2, 3, 4
      ORDER BY 5 DESC, 1, 2, 3, 4`,
    [bot],
  );
  const idle = await client.query<{ pid: number; user: string | null; application: string; database: string | null; state: string; idle_ms: number; query: string; total: number }>(
    `
    SELECT pid, usename AS user, application_name AS application, datname AS database, state,
           extract(epoch FROM now() - state_change)::float8 * 1000 AS idle_ms, query,
           count(*) OVER ()::int AS total
      FROM pg_stat_activity
     WHERE backend_type = 'client backend' AND ${NOT_THE_BOT}
       AND state IN ('idle in transaction', 'idle in transaction (aborted)')
     ORDER BY state_change ASC, pid
     LIMIT $2`,
    [bot, idleLimit],
  );
  const l = limits.rows[0];
  if (!l) throw new Error('the database returned no connection settings');
  return {
    database: l.database,
    maxConnections: l.max_connections,
    superuserReserved: l.superuser_reserved,
    roleReserved: l.role_reserved,
    total: counts.rows[0]?.total ?? 0,
    botSessions: counts.rows[0]?.bot ?? 0,
    byState: byState.rows,
    byClient: byClient.rows.map((row) => ({
      user: row.user,
      application: row.application,
      clientAddr: row.client_addr,
      database: row.database,
      count: row.count,
    })),
    idleInTransaction: idle.rows.map((row) => ({
      pid: row.pid,
      user: row.user,
      application: row.application,
      database: row.database,
      state: row.state,
      idleMs: row.idle_ms,
      query: row.query,
    })),
    idleInTransactionCount: idle.rows[0]?.total ?? 0,
  };
}
