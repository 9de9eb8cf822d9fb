/**
 * Session-level advisory locks in the state database, each held on a connection of its own for
 * as long as the work runs, so that one bot replica at a time does it (a backup, a restore).
 *
 *   const lock = await trySessionLock(state, BOT_LOCKS.backup, { applicationName: 'recipedb-ops backup U1 …' });
 *   if (!lock) … // another session holds it: sessionLockHolders(state, BOT_LOCKS.backup) says who
 *   try { … if (lock.lost.aborted) stop at a safe point … } finally { await lock.release(); }
 *
 * A lock lives exactly as long as its session: when that connection dies (the state database
 * restarted, a network cut), another replica may take the lock at once. `lost` says so, found by
 * the connection's own error or by a ping every `checkEveryMs`, so long work stops at its next
 * safe point instead of running on unprotected.
 */
import type pg from 'pg';

/** The two-key advisory lock space (classid 'rdb0', objid per kind of work). */
const LOCK_NAMESPACE = 0x72646230;
export const BOT_LOCKS = { backup: 1, operation: 2, verify: 3 } as const;

const CHECK_EVERY_MS = 5_000;

export interface SessionLock {
  /** Aborted (with the reason as an Error) when the session holding the lock is gone. */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

/** Takes the lock, or returns null at once when another session holds it. */
export async function trySessionLock(
  pool: pg.Pool,
  lockId: number,
  options: { applicationName?: string; checkEveryMs?: number } = {},
): Promise<SessionLock | null> {
  const client = await pool.connect();
  const lost = new AbortController();
  let released = false;
  const loseIt = (why: string): void => {
    if (!released && !lost.signal.aborted) lost.abort(new Error(why));
  };
  // A checked-out pg client has no error listener: a lost connection must not crash the process.
  const onError = (): void => loseIt('the connection holding the lock in the state database was lost');
  const onEnd = (): void => loseIt('the connection holding the lock in the state database was closed');
  client.on('error', onError);
  client.on('end', onEnd);
  const discard = (): void => {
    client.off('error', onError);
    client.off('end', onEnd);
    client.on('error', () => undefined);
    // Destroyed, not returned: closing the session is what surely releases a session-level lock.
    client.release(true);
  };
  let locked: boolean;
  try {
    // Named before the lock is tried, so that whenever the lock is held its holder is readable.
    if (options.applicationName) await client.query(`SELECT set_config('application_name', $1, false)`, [options.applicationName]);
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [LOCK_NAMESPACE, lockId]);
    locked = rows[0]?.locked === true;
  } catch (error) {
    discard();
    throw error;
  }
  if (!locked) {
    discard();
    return null;
  }
  let checking = false;
  const timer = setInterval(() => {
    if (checking || released || lost.signal.aborted) return;
    checking = true;
    client
      .query('SELECT 1')
      .catch(() => loseIt('the state database stopped answering on the connection holding the lock'))
      .finally(() => (checking = false));
  }, options.checkEveryMs ?? CHECK_EVERY_MS);
  timer.unref();
  return {
    lost: lost.signal,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, lockId]).catch(() => undefined);
      discard();
    },
  };
}

/** The application_name of each session holding the lock (empty when nobody does). */
export async function sessionLockHolders(pool: pg.Pool | pg.ClientBase, lockId: number): Promise<string[]> {
  const { rows } = await pool.query<{ application_name: string | null }>(
    `SELECT a.application_name
       FROM pg_locks l
       LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 2`,
    [LOCK_NAMESPACE, lockId],
  );
  return rows.map((r) => r.application_name ?? '');
}
