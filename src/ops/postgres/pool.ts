/**
 * The one way to open a pg pool: every pool has a connect timeout and a statement timeout, so no
 * command can hang on a dead or locked database, and registers its connections as the bot's own
 * (bot-sessions.ts), so that the bot never kills them. The application_name only tells people
 * whose sessions they are: anyone can set it.
 *
 *   const pool = createPool({ url, applicationName: BOT_APPLICATION_NAME, connectMs: 3000, statementMs: 5000 });
 */
import pg from 'pg';
import { forgetPoolSession, registerPoolSession, type Queryable } from './bot-sessions.js';

export const BOT_APPLICATION_NAME = 'recipedb-ops';

export interface PoolOptions {
  url: string;
  applicationName?: string;
  connectMs: number;
  statementMs: number;
  max?: number;
  /** Runs `SET search_path` on every new connection (the state store's own schema). */
  searchPath?: string;
  onError?: (error: Error) => void;
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool: pg.Pool = new pg.Pool({
    connectionString: options.url,
    application_name: options.applicationName ?? BOT_APPLICATION_NAME,
    connectionTimeoutMillis: options.connectMs,
    statement_timeout: options.statementMs,
    // query_timeout also covers a server that stops answering mid-query (network partition).
    query_timeout: options.statementMs + 1_000,
    lock_timeout: Math.min(options.statementMs, 2_000),
    idle_in_transaction_session_timeout: options.statementMs * 2,
    options: options.searchPath ? `-c search_path=${options.searchPath}` : undefined,
    max: options.max ?? 5,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    onConnect: (client) => registerPoolSession(pool, client),
  });
  pool.on('remove', (client) => forgetPoolSession(pool, client));
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', (error) => options.onError?.(error));
  return pool;
}

/**
 * Runs the queries side by side on a pool (each on a connection of its own), or one after the
 * other on a single session, which cannot run two at once.
 */
export async function eachQuery<T extends readonly unknown[]>(db: Queryable, tasks: { readonly [K in keyof T]: () => Promise<T[K]> }): Promise<T> {
  if (db instanceof pg.Pool) return (await Promise.all(tasks.map((task) => task()))) as unknown as T;
  const results: unknown[] = [];
  for (const task of tasks) results.push(await task());
  return results as unknown as T;
}

/** Runs `fn` with one client of the pool (always released), or on the session it is given. */
export async function withClient<T>(db: Queryable, fn: (client: pg.ClientBase) => Promise<T>): Promise<T> {
  if (!(db instanceof pg.Pool)) return fn(db);
  const client = await db.connect();
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}
