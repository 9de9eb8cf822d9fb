/**
 * A backup as every path takes it (the `backup` command, the schedule, a restore's safety
 * backup): taken (takeBackup: one at a time, retention after it), its duration and size observed
 * in the metrics by trigger, a failure counted, the result logged and recorded (the audit log,
 * and the timeline of the channel's open incident).
 *
 *   const taken = await backUpNow(services, { trigger: 'manual', requestedBy: 'U_ALICE', actor: 'U_ALICE', channel: 'C_OPS' });
 *   taken.backup.name; taken.deleted
 */
import path from 'node:path';
import type { Services } from '../context.js';
import { formatBytes } from '../format.js';
import { BackupRunningError } from '../ops/backup/backup-lock.js';
import { takeBackup, type TakenBackup } from '../ops/backup/take-backup.js';
import { backupRecordStore } from '../state/backup-records.js';

export type BackupTrigger = 'manual' | 'schedule' | 'restore';

export interface BackUpNowOptions {
  trigger: BackupTrigger;
  /** Written into the backup's sidecar: a Slack user ID, `schedule` or `restore`. */
  requestedBy: string;
  /** Who the audit log names, and the channel whose open incident hears of it. */
  actor: string;
  channel?: string;
  /** Added to the audit entry (the schedule's slot). */
  details?: Record<string, unknown>;
  onProgress?: (dumpedBytes: number) => unknown;
  /** Default: the bot's stop signal (a shutdown past its grace period stops the backup). */
  signal?: AbortSignal;
}

/** How each trigger is recorded: the audit action and the first words of its summary. */
const RECORDED: Record<BackupTrigger, { action: string; label: string }> = {
  manual: { action: 'backup.completed', label: 'Backup' },
  schedule: { action: 'backup.scheduled', label: 'Scheduled backup' },
  restore: { action: 'backup.safety', label: 'Safety backup' },
};

/** Throws what takeBackup throws, after counting it (a backup already running is not a failure of this one). */
export async function backUpNow(services: Services, options: BackUpNowOptions): Promise<TakenBackup> {
  const { config, metrics, log, recorder } = services;
  const { trigger } = options;
  let taken: TakenBackup;
  try {
    taken = await takeBackup({
      state: services.state,
      records: backupRecordStore(services.state),
      databaseUrl: services.databaseUrl,
      dir: path.resolve(config.backup.dir),
      retentionDays: config.backup.retentionDays,
      verifyTables: config.verifyTables,
      requestedBy: options.requestedBy,
      instance: services.instance,
      now: services.now,
      connectTimeoutMs: config.timeouts.connectMs,
      signal: options.signal ?? services.lifecycle.stopSignal,
      onProgress: options.onProgress,
    });
  } catch (error) {
    if (!(error instanceof BackupRunningError)) {
      metrics.backupFailures.inc({ trigger });
      log.warn({ err: error, trigger }, 'backup failed');
    }
    throw error;
  }
  const { backup, deleted } = taken;
  metrics.backupDuration.observe({ trigger }, backup.durationMs / 1000);
  metrics.backupSize.observe({ trigger }, backup.sizeBytes);
  log.info({ trigger, name: backup.name, sizeBytes: backup.sizeBytes, durationMs: Math.round(backup.durationMs), deleted }, 'backup written');
  const { action, label } = RECORDED[trigger];
  // The backup is written: failing to record it must not turn it into a failure.
  await recorder
    .record({
      actor: options.actor,
      channel: options.channel,
      kind: 'backup',
      action,
      summary: `${label} ${backup.name} written (${formatBytes(backup.sizeBytes)})${deleted.length ? `; retention deleted ${deleted.length}` : ''}`,
      details: { ...options.details, name: backup.name, sha256: backup.sha256, sizeBytes: backup.sizeBytes, durationMs: Math.round(backup.durationMs), deleted },
    })
    .catch((error: unknown) => log.error({ err: error, name: backup.name }, 'could not record the backup'));
  return taken;
}
