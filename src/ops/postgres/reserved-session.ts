/**
 * One session to the operated database, kept open at all times and re-opened when lost, for the
 * moment the server has no free connection slot ("sorry, too many clients already"), which is
 * when the operator most needs `status`, `active`, `connections` and `kill`. Those commands try the
 * pool first; only when the pool cannot connect does their work run here, one command at a time.
 *
 *   const reserved = openReservedSession({ url, connectMs: 3000, statementMs: 5000, log });
 *   await withOperatedSession(db, reserved, ({ session }) => readServerStatus(session));
 *   await reserved.close();
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { BOT_APPLICATION_NAME } from './pool.js';
import { trackBotSession } from './bot-sessions.js';

export const RESERVED_APPLICATION_NAME = `${BOT_APPLICATION_NAME} reserved`;

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
/** A connection can die without a word (a NAT dropping it): a ping finds out before a command needs it. */
const PING_EVERY_MS = 30_000;

export interface ReservedSession {
  /** True while the session is open. */
  readonly connected: boolean;
  /** Runs work on the session, after any work already running on it; fails when it is not open. */
  run<T>(work: (session: pg.ClientBase) => Promise<T>): Promise<T>;
  /** Resolves once the first attempt to open it has succeeded or failed. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface ReservedSessionOptions {
  url: string;
  connectMs: number;
  statementMs: number;
  log: Logger;
}

export function openReservedSession(options: ReservedSessionOptions): ReservedSession {
  const { log } = options;
  let client: pg.Client | null = null;
  let closed = false;
  let retryMs = FIRST_RETRY_MS;
  let retryTimer: NodeJS.Timeout | undefined;
  let lastProblem = 'it was never opened';
  // One piece of work at a time: commands on one session must not interleave their transactions.
  let queue: Promise<unknown> = Promise.resolve();

  const lose = (lost: pg.Client, why: string): void => {
    if (client !== lost) return;
    client = null;
    lastProblem = why;
    lost.end().catch(() => undefined);
    if (!closed) {
      log.warn({ why }, 'the reserved database session was lost; re-opening it');
      scheduleRetry();
    }
  };

  const scheduleRetry = (): void => {
    if (closed || retryTimer !== undefined) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, retryMs);
    retryTimer.unref();
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };

  const connect = async (): Promise<void> => {
    if (closed || client !== null) return;
    const candidate = new pg.Client({
      connectionString: options.url,
      application_name: RESERVED_APPLICATION_NAME,
      connectionTimeoutMillis: options.connectMs,
      statement_timeout: options.statementMs,
      query_timeout: options.statementMs + 1_000,
      lock_timeout: Math.min(options.statementMs, 2_000),
      idle_in_transaction_session_timeout: options.statementMs * 2,
      keepAlive: true,
    });
    candidate.on('error', (error: Error) => lose(candidate, error.message));
    candidate.on('end', () => lose(candidate, 'the server closed it'));
    try {
      await candidate.connect();
      await trackBotSession(candidate);
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
      await candidate.end().catch(() => undefined);
      scheduleRetry();
      return;
    }
    if (closed) {
      await candidate.end().catch(() => undefined);
      return;
    }
    client = candidate;
    retryMs = FIRST_RETRY_MS;
  };

  const first = connect();
  const ping = setInterval(() => {
    const current = client;
    if (current === null) return;
    queue = queue.then(() => current.query('SELECT 1')).catch((error: unknown) => lose(current, error instanceof Error ? error.message : String(error)));
  }, PING_EVERY_MS);
  ping.unref();

  return {
    get connected() {
      return client !== null;
    },
    run<T>(work: (session: pg.ClientBase) => Promise<T>): Promise<T> {
      const turn = queue.then(() => {
        const current = client;
        if (current === null) throw new Error(`the bot's reserved database session is not open (${lastProblem})`);
        return work(current);
      });
      queue = turn.catch(() => undefined);
      return turn;
    },
    ready: () => first,
    async close() {
      closed = true;
      clearInterval(ping);
      clearTimeout(retryTimer);
      const current = client;
      client = null;
      await current?.end().catch(() => undefined);
    },
  };
}

/** The session a command's work ran on: a pool connection, or the reserved one. */
export interface OperatedSession {
  session: pg.ClientBase;
  /** True when the pool could not connect and the reserved session served instead. */
  reserved: boolean;
}

/**
 * Runs work on one connection of the pool or, when the pool cannot connect (no free slot, or none
 * within the connect timeout) while the reserved session is open, on the reserved session.
 */
export async function withOperatedSession<T>(
  pool: pg.Pool,
  reserved: ReservedSession | null,
  work: (on: OperatedSession) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    if (reserved === null || !reserved.connected) throw error;
    return reserved.run((session) => work({ session, reserved: true }));
  }
  let broken: Error | undefined;
  try {
    return await work({ session: client, reserved: false });
  } catch (error) {
    // A connection that failed mid-work is not handed to the next command.
    if (error instanceof Error && !('code' in error)) broken = error;
    throw error;
  } finally {
    client.release(broken);
  }
}
