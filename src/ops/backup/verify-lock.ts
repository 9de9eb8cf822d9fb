/**
 * One `backup verify` at a time, across every replica: each restores a whole backup into a scratch
 * database on the production server. A session-level advisory lock in the STATE database, named
 * (application_name) after who started it, like the backup lock.
 *
 *   const lock = await tryVerifyLock(ctx.state, { requestedBy: 'U123' }); // null when another verification runs
 *   try { … } finally { await lock.release(); }
 */
import type pg from 'pg';
import { BOT_APPLICATION_NAME } from '../postgres/pool.js';
import { BOT_LOCKS, sessionLockHolders, trySessionLock, type SessionLock } from '../postgres/session-lock.js';

const HOLDER_PREFIX = `${BOT_APPLICATION_NAME} verify`;
const MAX_APPLICATION_NAME = 63;

export async function tryVerifyLock(state: pg.Pool, holder: { requestedBy: string }): Promise<SessionLock | null> {
  const who = holder.requestedBy.replace(/[^\w.-]/g, '').slice(0, 24) || 'unknown';
  return trySessionLock(state, BOT_LOCKS.verify, { applicationName: `${HOLDER_PREFIX} ${who}`.slice(0, MAX_APPLICATION_NAME) });
}

/** Who runs the verification now (a Slack user ID or `start`), when it is visible. */
export async function verifyLockHolder(state: pg.Pool): Promise<string | undefined> {
  const [name] = await sessionLockHolders(state, BOT_LOCKS.verify);
  return name?.startsWith(`${HOLDER_PREFIX} `) ? name.slice(HOLDER_PREFIX.length + 1) : undefined;
}
