/**
 * One backup at a time, across every replica of the bot: a session-level advisory lock in the
 * STATE database, held on a connection of its own for the whole backup. Who holds it is written
 * into that session's application_name, so a refused request can say who started the running
 * backup and when, without a table of its own.
 *
 *   const lock = await acquireBackupLock(ctx.state, { requestedBy: 'U123', at: new Date() });
 *   try { … } finally { await lock.release(); }
 *   // or: BackupRunningError 'a backup is already running (started by U123 at 2026-01-15 10:30:00 UTC)'
 */
import type pg from 'pg';
import { BOT_APPLICATION_NAME } from '../postgres/pool.js';
import { BOT_LOCKS, sessionLockHolders, trySessionLock, type SessionLock } from '../postgres/session-lock.js';
import { formatTime } from '../../format.js';

const HOLDER_PREFIX = `${BOT_APPLICATION_NAME} backup`;
/** application_name keeps 63 bytes; the holder must fit. */
const MAX_APPLICATION_NAME = 63;

export type BackupLock = SessionLock;

export interface BackupLockHolder {
  requestedBy?: string;
  since?: Date;
}

export class BackupRunningError extends Error {
  override name = 'BackupRunningError';
  constructor(readonly holder: BackupLockHolder | undefined) {
    super(
      holder?.requestedBy !== undefined && holder.since !== undefined
        ? `a backup is already running (started by ${holder.requestedBy} at ${formatTime(holder.since)})`
        : 'a backup is already running',
    );
  }
}

export async function acquireBackupLock(state: pg.Pool, holder: { requestedBy: string; at: Date }): Promise<BackupLock> {
  const lock = await trySessionLock(state, BOT_LOCKS.backup, { applicationName: holderName(holder.requestedBy, holder.at) });
  if (!lock) throw new BackupRunningError(await readHolder(state));
  return lock;
}

/** The backup running now on any replica (who started it and when, as far as known); null when none is. */
export async function runningBackup(state: pg.Pool): Promise<BackupLockHolder | null> {
  return (await readHolder(state)) ?? null;
}

/** Who holds the lock, or undefined when nobody does (or their session is not visible to us). */
async function readHolder(state: pg.Pool): Promise<BackupLockHolder | undefined> {
  const [name] = await sessionLockHolders(state, BOT_LOCKS.backup);
  if (name === undefined) return undefined;
  return parseHolderName(name) ?? {};
}

function holderName(requestedBy: string, at: Date): string {
  const who = requestedBy.replace(/[^\w.-]/g, '').slice(0, 20) || 'unknown';
  return `${HOLDER_PREFIX} ${who} ${at.toISOString().slice(0, 19)}Z`.slice(0, MAX_APPLICATION_NAME);
}

function parseHolderName(name: string): BackupLockHolder | undefined {
  if (!name.startsWith(`${HOLDER_PREFIX} `)) return undefined;
  const [requestedBy, at] = name.slice(HOLDER_PREFIX.length + 1).split(' ');
  const since = new Date(at ?? '');
  if (!requestedBy || Number.isNaN(since.getTime())) return undefined;
  return { requestedBy, since };
}
