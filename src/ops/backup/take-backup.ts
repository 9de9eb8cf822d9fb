/**
 * A backup as the bot takes it, on command or on schedule: BACKUP_DIR made ready, the backup lock
 * taken (one backup at a time across replicas), leftovers of killed backups removed, the backup
 * run, and retention applied after it succeeded.
 *
 *   const taken = await takeBackup({ state: ctx.state, databaseUrl, dir, retentionDays: 30, verifyTables, requestedBy: 'U123' });
 *   taken.backup.name; taken.deleted // names removed by retention
 */
import type pg from 'pg';
import { acquireBackupLock } from './backup-lock.js';
import { prepareBackupDir, removeStalePartials } from './backup-dir.js';
import { backupsInUse } from './backups-in-use.js';
import { applyRetention } from './retention.js';
import { runBackup, type BackupResult } from './run-backup.js';

export interface TakeBackupOptions {
  /** The state database's pool: the lock lives there, so that a restore of the operated database cannot lose it. */
  state: pg.Pool;
  databaseUrl: string;
  dir: string;
  retentionDays: number;
  verifyTables: readonly string[];
  /** A Slack user ID, or `schedule`. */
  requestedBy: string;
  now?: () => Date;
  onProgress?: (dumpedBytes: number) => unknown;
  progressIntervalMs?: number;
  signal?: AbortSignal;
  connectTimeoutMs?: number;
}

export interface TakenBackup {
  backup: BackupResult;
  /** Backups deleted by retention. */
  deleted: string[];
  /** Why retention could not run (the backup itself succeeded). */
  retentionProblem?: string;
}

export async function takeBackup(options: TakeBackupOptions): Promise<TakenBackup> {
  const now = options.now ?? (() => new Date());
  await prepareBackupDir(options.dir);
  const lock = await acquireBackupLock(options.state, { requestedBy: options.requestedBy, at: now() });
  try {
    await removeStalePartials(options.dir, now());
    const backup = await runBackup({
      databaseUrl: options.databaseUrl,
      dir: options.dir,
      verifyTables: options.verifyTables,
      now,
      onProgress: options.onProgress,
      progressIntervalMs: options.progressIntervalMs,
      signal: options.signal,
      requestedBy: options.requestedBy,
      connectTimeoutMs: options.connectTimeoutMs,
    });
    try {
      const inUse = new Set([...backupsInUse(), backup.name]);
      const deleted = await applyRetention({ dir: options.dir, retentionDays: options.retentionDays, now: now(), inUse });
      return { backup, deleted };
    } catch (error) {
      return { backup, deleted: [], retentionProblem: error instanceof Error ? error.message : String(error) };
    }
  } finally {
    await lock.release();
  }
}
