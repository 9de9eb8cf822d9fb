/**
 * Scheduled backups on BACKUP_SCHEDULE (UTC), a background job (src/jobs/start-jobs.ts), run once
 * across replicas by the slot scheduler (slot-scheduler.ts: claim, take-over, grace period). The
 * replica that wins the slot takes the backup, records it (so an open incident in OPS_CHANNEL shows
 * it in its timeline) and publishes the result for OPS_CHANNEL (notices.ts) — a failure loudly.
 *
 *   const scheduler = startBackupScheduler(services, { schedule: parseCronSchedule('0 2 * * *') });
 *   await scheduler.tick(new Date('2026-01-15T02:00:05Z')); // what the timer does; tests call it with a fake clock
 *   await scheduler.stop();
 */
import type { Services } from '../context.js';
import type { CronSchedule } from '../cron-schedule.js';
import { BackupRunningError } from '../ops/backup/backup-lock.js';
import { backUpNow } from '../handlers/back-up-now.js';
import { backupSlots } from '../state/backup-slots.js';
import type { ScheduledBackupReport } from './scheduled-backup-report.js';
import { createSlotScheduler, startSlotScheduler, type SlotJob, type SlotScheduler, type SlotTick } from './slot-scheduler.js';

export interface BackupSchedulerOptions {
  schedule: CronSchedule;
  graceMs?: number;
  tickMs?: number;
  /** This replica, as written into backup_slots.claimed_by. */
  instance?: string;
}

interface BackupDone {
  name: string;
}

export type TickResult = SlotTick<BackupDone>;
export type BackupScheduler = SlotScheduler<BackupDone>;

/** The scheduler without its timer: `tick` is driven by the caller. */
export function createBackupScheduler(services: Services, options: BackupSchedulerOptions): BackupScheduler {
  return createSlotScheduler(services, backupJob(services, options));
}

/** The scheduler with its timer: a tick now (to catch up a missed slot), then every tickMs on the clock's boundaries. */
export function startBackupScheduler(services: Services, options: BackupSchedulerOptions): BackupScheduler {
  const scheduler = startSlotScheduler(services, backupJob(services, options));
  if (!services.config.opsChannel) services.log.warn('OPS_CHANNEL is not set: scheduled backup results and failures are only logged and recorded');
  return scheduler;
}

function backupJob(services: Services, options: BackupSchedulerOptions): SlotJob<BackupDone> {
  const { config, log } = services;
  // For OPS_CHANNEL, through whoever listens (the Slack app); a notice never fails the slot.
  const post = (report: ScheduledBackupReport): Promise<void> => services.notices.publish({ kind: 'scheduled-backup', report });
  return {
    ...options,
    subject: 'scheduled backup',
    slots: backupSlots,
    failedAction: 'backup.scheduled-failed',
    stoppedByShutdown: 'the bot was shutting down and stopped the backup before it finished; no file was kept',
    givesWay: (error) => error instanceof BackupRunningError,
    async run(slot, now, signal) {
      log.info({ slot, instance: options.instance ?? services.instance }, 'scheduled backup starting');
      // backUpNow records the backup (audit log, open incident) and counts a failure.
      const taken = await backUpNow(services, {
        trigger: 'schedule',
        requestedBy: 'schedule',
        actor: 'recipedb-ops',
        channel: config.opsChannel,
        details: { slot: slot.toISOString() },
        signal,
      });
      const { backup } = taken;
      const warnings = [...backup.warnings, ...(taken.retentionProblem ? [`retention did not run: ${taken.retentionProblem}`] : [])];
      return {
        detail: { name: backup.name, sizeBytes: backup.sizeBytes, durationMs: Math.round(backup.durationMs), deleted: taken.deleted },
        result: { name: backup.name },
        announce: () =>
          post({
            kind: 'ok',
            slot,
            name: backup.name,
            sizeBytes: backup.sizeBytes,
            durationMs: backup.durationMs,
            rowCounts: backup.rowCounts,
            deleted: taken.deleted,
            retentionDays: config.backup.retentionDays,
            warnings,
            next: options.schedule.nextSlot(now),
            finishedAt: backup.finishedAt,
          }),
      };
    },
    async announceFailure(failure, cause) {
      // A run's failure is counted by backUpNow; one that never started is not a backup's failure.
      if (cause === 'orphaned') services.metrics.backupFailures.inc({ trigger: 'schedule' });
      await post(failure);
    },
  };
}
