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
import { BOT_LOCKS, sessionLockHolders, trySessionLock, type SessionLock } from '../postgres/session-lock.js';

export type RestoreLock = SessionLock;

export class RestoreRunningError extends Error {
  override name = 'RestoreRunningError';
  constructor() {
    super('another restore is running');
  }
}

export async function acquireRestoreLock(state: pg.Pool): Promise<RestoreLock> {
  const lock = await trySessionLock(state, BOT_LOCKS.restore, { applicationName: 'recipedb-ops restore lock' });
  if (!lock) throw new RestoreRunningError();
  return lock;
}

/** True while any replica holds the restore lock. */
export async function restoreRunning(state: pg.Pool): Promise<boolean> {
  return (await sessionLockHolders(state, BOT_LOCKS.restore)).length > 0;
}
