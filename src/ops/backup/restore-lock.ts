/**
 * One restore at a time, across every replica: a session-level advisory lock in the STATE
 * database, held on a connection of its own for the whole procedure (stop the application,
 * safety backup, restore, start it again). Two approved restores overlapping would have the
 * second start the application in the middle of the first. Scheduled backups also wait for it.
 *
 *   const lock = await acquireRestoreLock(ctx.state); // RestoreRunningError when another runs
 *   try { … } finally { await lock.release(); }
 */
import type pg from 'pg';

/** The same two-key space as the backup lock ('rdb0'); 2 is the restore. */
const LOCK_NAMESPACE = 0x72646230;
const RESTORE_LOCK = 2;

export interface RestoreLock {
  release(): Promise<void>;
}

export class RestoreRunningError extends Error {
  override name = 'RestoreRunningError';
  constructor() {
    super('another restore is running');
  }
}

export async function acquireRestoreLock(state: pg.Pool): Promise<RestoreLock> {
  const client = await state.connect();
  // A checked-out pg client has no error listener: a lost connection must not crash the process.
  const ignore = (): void => undefined;
  client.on('error', ignore);
  const discard = (): void => {
    client.off('error', ignore);
    // Destroyed, not returned: closing the session is what surely releases a session-level lock.
    client.release(true);
  };
  let locked: boolean;
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [LOCK_NAMESPACE, RESTORE_LOCK]);
    locked = rows[0]?.locked === true;
  } catch (error) {
    discard();
    throw error;
  }
  if (!locked) {
    discard();
    throw new RestoreRunningError();
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, RESTORE_LOCK]).catch(() => undefined);
      discard();
    },
  };
}

/** True while any replica holds the restore lock. */
export async function restoreRunning(state: pg.Pool): Promise<boolean> {
  const { rows } = await state.query<{ running: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 2
     ) AS running`,
    [LOCK_NAMESPACE, RESTORE_LOCK],
  );
  return rows[0]?.running === true;
}
