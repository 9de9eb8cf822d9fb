/**
 * The session a maintenance statement runs in (SPEC section 9): a connection of its own, outside
 * the pool, with `statement_timeout` off (a VACUUM FULL may rightly take an hour) and
 * `lock_timeout` = MAINTENANCE_LOCK_TIMEOUT. A statement that cannot get its lock in that time
 * gives up, so it never waits in the lock queue ahead of the application's queries for longer;
 * `runWithLockRetries` pauses (letting the queued queries through) and tries again a few times,
 * then reports who held the lock. The server checks that the bot is still there while a
 * statement runs, so a replica that dies leaves no rewrite running.
 *
 *   const session = await openMaintenanceSession({ url, lockTimeoutMs: 5_000, connectTimeoutMs: 3_000 });
 *   await runWithLockRetries(session, pool, { sql: 'VACUUM FULL "s"."t"', relation: '"s"."t"', attempts: 4, pauseMs: 5_000 });
 *   // LockUnavailableError: holders [{ pid: 4242, state: 'idle in transaction', … }]
 *   await cancelMaintenanceSession(pool, session.identity); // from any replica: pg_cancel_backend, guarded by pid + start time
 *   await session.close();
 */
import pg from 'pg';
import { BOT_APPLICATION_NAME } from './pool.js';
import { trackBotSession } from './bot-sessions.js';
import type { Blocker } from './lock-wait.js';

/** Every maintenance session's application_name starts with this: Cancel signals no other session. */
export const MAINTENANCE_APPLICATION_NAME = `${BOT_APPLICATION_NAME} maintenance`;

const CLIENT_CHECK_MS = 1_000;

// Text, not timestamptz: JavaScript dates lose the microseconds that make the identity exact.
const BACKEND_START = `to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export interface SessionIdentity {
  pid: number;
  startedAt: string;
}

export interface MaintenanceSession {
  readonly identity: SessionIdentity;
  /** Runs one statement; the server's NOTICEs and WARNINGs it raised are returned with the rows. */
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<{ rows: Row[]; notices: string[] }>;
  /** False once the connection is gone (terminated, network); open a new one to go on. */
  readonly usable: boolean;
  close(): Promise<void>;
}

export async function openMaintenanceSession(options: {
  url: string;
  lockTimeoutMs: number;
  connectTimeoutMs: number;
  /** Appended to the application_name, e.g. the run id, so `locks` and `active` show what runs. */
  label?: string;
}): Promise<MaintenanceSession> {
  const client = new pg.Client({
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs,
    application_name: `${MAINTENANCE_APPLICATION_NAME}${options.label ? ` ${options.label}` : ''}`.slice(0, 63),
    statement_timeout: 0,
    lock_timeout: options.lockTimeoutMs,
    idle_in_transaction_session_timeout: 0,
    // PostgreSQL notices a vanished client only when it next talks to it: a replica that died
    // mid-VACUUM FULL would leave the rewrite running, its ACCESS EXCLUSIVE lock held to the end.
    // With this the server looks every second and ends the statement (PostgreSQL 14+, any user).
    options: `-c client_connection_check_interval=${CLIENT_CHECK_MS}`,
  });
  let usable = true;
  let notices: string[] = [];
  // A lost connection surfaces through the running query; it must not crash the process.
  client.on('error', () => {
    usable = false;
  });
  client.on('end', () => {
    usable = false;
  });
  client.on('notice', (notice) => {
    notices.push(`${notice.severity ?? 'NOTICE'}: ${notice.message}`);
  });
  await client.connect();
  let identity: SessionIdentity;
  try {
    // One of the bot's own: `kill` refuses it, `active` and `status` count it as the bot's.
    await trackBotSession(client);
    const { rows } = await client.query<{ pid: number; started_at: string }>(
      `SELECT pid, ${BACKEND_START} AS started_at FROM pg_stat_activity WHERE pid = pg_backend_pid()`,
    );
    identity = { pid: rows[0]?.pid ?? 0, startedAt: rows[0]?.started_at ?? '' };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return {
    identity,
    get usable() {
      return usable;
    },
    async query<Row extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
      notices = [];
      const result = await client.query<Row>(sql, params);
      return { rows: result.rows, notices };
    },
    async close() {
      usable = false;
      await client.end().catch(() => undefined);
    },
  };
}

/** pg_cancel_backend of the session, only if it is still that maintenance session. */
export async function cancelMaintenanceSession(pool: pg.Pool, session: SessionIdentity): Promise<'cancelled' | 'gone' | 'refused'> {
  const { rows } = await pool.query<{ cancelled: boolean }>(
    `SELECT pg_cancel_backend(pid) AS cancelled
       FROM pg_stat_activity
      WHERE pid = $1 AND ${BACKEND_START} = $2 AND application_name LIKE $3`,
    [session.pid, session.startedAt, `${MAINTENANCE_APPLICATION_NAME}%`],
  );
  const row = rows[0];
  if (!row) return 'gone';
  return row.cancelled ? 'cancelled' : 'refused';
}

/** The statement gave up waiting for its lock on every attempt. */
export class LockUnavailableError extends Error {
  override name = 'LockUnavailableError';
  constructor(
    readonly attempts: number,
    readonly lockTimeoutMs: number,
    /** The sessions it waited behind (last seen), lowest pid first; empty when none could be seen. */
    readonly holders: Blocker[],
    options?: { cause?: unknown },
  ) {
    super(`could not get its lock within ${lockTimeoutMs}ms, ${attempts} times`, options);
  }
}

export interface LockRetryOptions {
  sql: string;
  params?: unknown[];
  /** The relation it locks, as a regclass text (`"s"."t"`): whose locks to name when it gives up. */
  relation?: string;
  attempts: number;
  /** Pause between attempts: the application's queries that queued behind the attempt go first. */
  pauseMs: number;
  signal?: AbortSignal;
  /** Before each attempt after the first; e.g. drop what a failed concurrent build left behind. */
  onRetry?: (attempt: number, holders: Blocker[]) => Promise<void>;
}

const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Runs the statement, retrying when it gave up waiting for a lock. While it runs, the sessions it
 * waits behind are watched (pg_blocking_pids, through `pool`), so the final error can name them.
 */
export async function runWithLockRetries<Row extends pg.QueryResultRow = pg.QueryResultRow>(
  session: MaintenanceSession,
  pool: pg.Pool,
  options: LockRetryOptions,
  lockTimeoutMs: number,
): Promise<{ rows: Row[]; notices: string[]; attempts: number }> {
  let holders: Blocker[] = [];
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await options.onRetry?.(attempt, holders);
    options.signal?.throwIfAborted();
    const watch = watchBlockers(pool, session.identity.pid, Math.min(1_000, Math.max(50, lockTimeoutMs / 3)), (seen) => {
      holders = seen;
    });
    try {
      const result = await session.query<Row>(options.sql, options.params);
      return { ...result, attempts: attempt };
    } catch (error) {
      if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE || options.signal?.aborted) throw error;
      if (holders.length === 0 && options.relation) holders = await relationLockHolders(pool, options.relation, session.identity.pid);
      if (attempt >= options.attempts) throw new LockUnavailableError(attempt, lockTimeoutMs, holders, { cause: error });
    } finally {
      await watch.stop();
    }
    await pause(options.pauseMs, options.signal);
  }
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const BLOCKER_JSON = `json_build_object(
  'pid', p.pid, 'user', a.usename, 'application', a.application_name, 'state', a.state,
  'stateMs', extract(epoch FROM clock_timestamp() - a.state_change)::float8 * 1000,
  'transactionMs', extract(epoch FROM clock_timestamp() - a.xact_start)::float8 * 1000,
  'query', left(a.query, 1000))`;

/** The sessions `pid` waits behind now (empty when it waits for nothing). */
export async function readBlockers(pool: pg.Pool, pid: number): Promise<Blocker[]> {
  const { rows } = await pool.query<{ blockers: Blocker[] }>(
    `SELECT coalesce(json_agg(${BLOCKER_JSON} ORDER BY p.pid), '[]') AS blockers
       FROM unnest(pg_blocking_pids($1)) AS p(pid)
       LEFT JOIN pg_stat_activity a ON a.pid = p.pid`,
    [pid],
  );
  return rows[0]?.blockers ?? [];
}

/** Sessions other than `exceptPid` holding a lock on the relation. */
async function relationLockHolders(pool: pg.Pool, relation: string, exceptPid: number): Promise<Blocker[]> {
  const { rows } = await pool.query<{ blockers: Blocker[] }>(
    `SELECT coalesce(json_agg(${BLOCKER_JSON} ORDER BY p.pid), '[]') AS blockers
       FROM (SELECT DISTINCT pid FROM pg_locks
              WHERE granted AND locktype = 'relation' AND relation = to_regclass($1) AND pid <> $2) AS p
       LEFT JOIN pg_stat_activity a ON a.pid = p.pid`,
    [relation, exceptPid],
  );
  return rows[0]?.blockers ?? [];
}

/** Polls who the session waits behind until stopped; the last non-empty answer is kept by `seen`. */
function watchBlockers(pool: pg.Pool, pid: number, everyMs: number, seen: (blockers: Blocker[]) => void): { stop(): Promise<void> } {
  let stopped = false;
  let busy = false;
  let current: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    if (stopped || busy) return;
    busy = true;
    current = readBlockers(pool, pid)
      .then((blockers) => {
        if (blockers.length && !stopped) seen(blockers);
      })
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await current;
    },
  };
}
