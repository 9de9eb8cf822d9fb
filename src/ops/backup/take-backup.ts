/**
 * A backup as the bot takes it, on command or on schedule: BACKUP_DIR made ready, the backup lock
 * taken (one backup at a time across replicas), leftovers of killed backups removed, the backup
 * run and recorded in the state database before it gets its final name (so every file the bot
 * trusts is one it recorded), and retention applied after it succeeded.
 *
 *   const taken = await takeBackup({ state: ctx.state, records: backupRecordStore(ctx.state), databaseUrl, dir, retentionDays: 30, verifyTables, requestedBy: 'U123', instance });
 *   taken.backup.name; taken.deleted // names removed by retention
 */
import type pg from 'pg';
import { acquireBackupLock } from './backup-lock.js';
import type { BackupRecordStore } from './backup-record.js';
import { prepareBackupDir, removeStalePartials } from './backup-dir.js';
import { backupsInUse } from './backups-in-use.js';
import { applyRetention } from './retention.js';
import { runBackup, type BackupResult } from './run-backup.js';
import { errorText, failure } from '../failure.js';

export interface TakeBackupOptions {
  /** The state database's pool: the lock lives there, like the records, so that a restore of the operated database cannot lose them. */
  state: pg.Pool;
  /** The bot's records of the files it trusts (state/backup-records.ts): the new file is recorded before it is published. */
  records: BackupRecordStore;
  databaseUrl: string;
  dir: string;
  retentionDays: number;
  verifyTables: readonly string[];
  /** A Slack user ID, or `schedule`. */
  requestedBy: string;
  /** This replica, as the record names who wrote the file. */
  instance: string;
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
    let recorded: string | undefined;
    let backup: BackupResult;
    try {
      backup = await runBackup({
        databaseUrl: options.databaseUrl,
        dir: options.dir,
        verifyTables: options.verifyTables,
        now,
        onProgress: options.onProgress,
        progressIntervalMs: options.progressIntervalMs,
        signal: options.signal,
        requestedBy: options.requestedBy,
        connectTimeoutMs: options.connectTimeoutMs,
        beforePublish: async (written) => {
          await options.records.record({
            name: written.name,
            origin: 'bot',
            fingerprint: written.fingerprint,
            takenAt: written.startedAt,
            recordedBy: options.instance,
            requestedBy: options.requestedBy,
            rowCounts: written.rowCounts,
            rowCountsTaken: written.rowCountsTaken,
          }).catch((error: unknown) => {
            throw failure(`the backup could not be recorded in the state database (${errorText(error).split('\n')[0] ?? ''}), so it was not kept`, error);
          });
          recorded = written.name;
        },
      });
    } catch (error) {
      // Recorded but never published: the record must not vouch for whatever takes the name later.
      if (recorded !== undefined) await options.records.forget([recorded]).catch(() => undefined);
      throw error;
    }
    try {
      const records = await options.records.read();
      const inUse = new Set([...backupsInUse(), backup.name]);
      const retention = await applyRetention({ dir: options.dir, retentionDays: options.retentionDays, now: now(), inUse, records });
      await options.records.forget([...retention.deleted, ...retention.gone]);
      return { backup, deleted: retention.deleted };
    } catch (error) {
      return { backup, deleted: [], retentionProblem: error instanceof Error ? error.message : String(error) };
    }
  } finally {
    await lock.release();
  }
}
