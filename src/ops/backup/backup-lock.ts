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

/** The two-key advisory lock (classid, objid): 'rdb0' for this bot, 1 for backups. */
const LOCK_NAMESPACE = 0x72646230;
const BACKUP_LOCK = 1;
const HOLDER_PREFIX = `${BOT_APPLICATION_NAME} backup`;
/** application_name keeps 63 bytes; the holder must fit. */
const MAX_APPLICATION_NAME = 63;

export interface BackupLock {
  release(): Promise<void>;
}

export interface BackupLockHolder {
  requestedBy?: string;
  since?: Date;
}

export class BackupRunningError extends Error {
  override name = 'BackupRunningError';
  constructor(readonly holder: BackupLockHolder | undefined) {
    super(
      holder?.requestedBy !== undefined && holder.since !== undefined
        ? `a backup is already running (started by ${holder.requestedBy} at ${formatUtc(holder.since)})`
        : 'a backup is already running',
    );
  }
}

export async function acquireBackupLock(state: pg.Pool, holder: { requestedBy: string; at: Date }): Promise<BackupLock> {
  const client = await state.connect();
  // A checked-out pg client has no error listener: a lost connection must not crash the process.
  const ignore = (): void => undefined;
  client.on('error', ignore);
  const discard = (): void => {
    client.off('error', ignore);
    // Destroyed, not returned: closing the session is what surely releases a session-level lock.
    client.release(true);
  };
  try {
    // Named before the lock is tried, so that whenever the lock is held its holder is readable.
    await client.query(`SELECT set_config('application_name', $1, false)`, [holderName(holder.requestedBy, holder.at)]);
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [LOCK_NAMESPACE, BACKUP_LOCK]);
    if (rows[0]?.locked !== true) {
      const current = await readHolder(client);
      discard();
      throw new BackupRunningError(current);
    }
  } catch (error) {
    if (error instanceof BackupRunningError) throw error;
    discard();
    throw error;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, BACKUP_LOCK]).catch(() => undefined);
      discard();
    },
  };
}

/** Who holds the lock, or undefined when nobody does (or their session is not visible to us). */
async function readHolder(client: pg.ClientBase | pg.Pool): Promise<BackupLockHolder | undefined> {
  const { rows } = await client.query<{ application_name: string | null }>(
    `SELECT a.application_name
       FROM pg_locks l
       JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 2`,
    [LOCK_NAMESPACE, BACKUP_LOCK],
  );
  const row = rows[0];
  if (row === undefined) return undefined;
  return parseHolderName(row.application_name ?? '') ?? {};
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

function formatUtc(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
