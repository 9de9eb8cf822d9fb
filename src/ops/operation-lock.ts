/**
 * One operation that restarts, rewrites or replaces the database at a time, across every replica:
 * a restore, a point-in-time restore, a maintenance statement (VACUUM FULL, REINDEX…), a change of
 * the database's deployment (resize, image, storage). A session-level advisory lock in the STATE
 * database (a restore must not rewind it), held on a connection of its own for the whole
 * operation; what runs is written into that session's application_name, so a refusal says what.
 *
 *   const lock = await acquireOperationLock(ctx.state, { kind: 'restore', by: 'U_BOB' });
 *   // OperationRunningError 'a restore is running (approved by U_BOB)' when another one runs
 *   try { … if (lock.lost.aborted) stop at a safe point … } finally { await lock.release(); }
 *   await runningOperation(ctx.state); // { kind: 'restore', by: 'U_BOB' } | null
 */
import type pg from 'pg';
import { BOT_APPLICATION_NAME } from './postgres/pool.js';
import { BOT_LOCKS, sessionLockHolders, trySessionLock, type SessionLock } from './postgres/session-lock.js';

export const OPERATION_KINDS = ['restore', 'pitr-restore', 'maintenance', 'resize', 'storage-expand', 'image', 'password-rotation'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/** What the operator reads: "a restore is running". */
const DESCRIPTION: Record<OperationKind, string> = {
  restore: 'a restore',
  'pitr-restore': 'a point-in-time restore',
  maintenance: 'a maintenance operation',
  resize: 'a resize of the database',
  'storage-expand': "an expansion of the database's volume",
  image: "an image update of the database",
  // It restarts the application, which a restore also stops and starts.
  'password-rotation': 'a password rotation',
};

export interface RunningOperation {
  kind: OperationKind;
  /** Who approved (or started) it: a Slack user ID. */
  by?: string;
}

export type OperationLock = SessionLock;

const HOLDER_PREFIX = `${BOT_APPLICATION_NAME} operation`;
const MAX_APPLICATION_NAME = 63;

export class OperationRunningError extends Error {
  override name = 'OperationRunningError';
  constructor(readonly running: RunningOperation | null) {
    super(running ? `${describeOperation(running)} is running${running.by ? ` (started by @${running.by})` : ''}` : 'another operation on the database is running');
  }
}

export function describeOperation(operation: Pick<RunningOperation, 'kind'>): string {
  return DESCRIPTION[operation.kind];
}

export async function acquireOperationLock(state: pg.Pool, operation: RunningOperation): Promise<OperationLock> {
  const lock = await trySessionLock(state, BOT_LOCKS.operation, { applicationName: holderName(operation) });
  if (!lock) throw new OperationRunningError(await runningOperation(state));
  return lock;
}

/** What holds the lock now, on any replica; null when nothing does. */
export async function runningOperation(state: pg.Pool): Promise<RunningOperation | null> {
  const [name] = await sessionLockHolders(state, BOT_LOCKS.operation);
  if (name === undefined) return null;
  return parseHolderName(name) ?? { kind: 'maintenance' };
}

function holderName(operation: RunningOperation): string {
  const by = (operation.by ?? '').replace(/[^\w.-]/g, '').slice(0, 24);
  return `${HOLDER_PREFIX} ${operation.kind}${by ? ` ${by}` : ''}`.slice(0, MAX_APPLICATION_NAME);
}

function parseHolderName(name: string): RunningOperation | undefined {
  if (!name.startsWith(`${HOLDER_PREFIX} `)) return undefined;
  const [kind, by] = name.slice(HOLDER_PREFIX.length + 1).split(' ');
  if (!(OPERATION_KINDS as readonly string[]).includes(kind ?? '')) return undefined;
  return { kind: kind as OperationKind, by: by || undefined };
}
