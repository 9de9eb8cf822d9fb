/**
 * Scheduled pgBackRest base backups on PITR_BACKUP_SCHEDULE (UTC), once across replicas by the
 * slot scheduler (slot-scheduler.ts), with their slots in `pitr_backup_slots`: every replica ticks,
 * the one whose claim wins takes the backup, a slot whose replica died is taken over, a missed slot
 * is caught up within the grace period. A scheduled backup is incremental, or full when the newest
 * full one is older than PITR_FULL_BACKUP_INTERVAL (or there is none); the result goes to the
 * audit log and OPS_CHANNEL (notices.ts) — a failure loudly.
 *
 *   const scheduler = createPitrBackupScheduler(services, pitr, { schedule: parseCronSchedule('0 3 * * *'), fullBackupIntervalMs });
 *   await scheduler.tick(new Date('2026-01-15T03:00:05Z')); // what the timer does; tests call it with a fake clock
 */
import type { Services } from '../context.js';
import type { CronSchedule } from '../cron-schedule.js';
import { formatDuration } from '../duration.js';
import { formatBytes } from '../format.js';
import { PgBackRestError } from '../ops/pitr/pgbackrest.js';
import { readStanzaInfo } from '../ops/pitr/pgbackrest-info.js';
import { takePitrBackup } from '../ops/pitr/pitr-backup.js';
import type { PitrServices } from '../ops/pitr/pitr-services.js';
import { pitrBackupSlots } from '../state/backup-slots.js';
import type { ScheduledPitrBackupReport } from './scheduled-pitr-backup-report.js';
import { createSlotScheduler, startSlotScheduler, type SlotJob, type SlotScheduler, type SlotTick } from './slot-scheduler.js';

/** pgBackRest's "unable to acquire lock": another backup of the stanza runs (`pitr backup` by hand). */
const LOCK_ERROR = 50;

export interface PitrBackupSchedulerOptions {
  schedule: CronSchedule;
  fullBackupIntervalMs: number;
  graceMs?: number;
  tickMs?: number;
  instance?: string;
}

interface PitrBackupDone {
  label: string;
  type: string;
}

export type PitrTickResult = SlotTick<PitrBackupDone>;
export type PitrBackupScheduler = SlotScheduler<PitrBackupDone>;

export function createPitrBackupScheduler(services: Services, pitr: PitrServices, options: PitrBackupSchedulerOptions): PitrBackupScheduler {
  return createSlotScheduler(services, pitrBackupJob(services, pitr, options));
}

/** The scheduler with its timer: a tick now (to catch up a missed slot), then every tickMs on the clock's boundaries. */
export function startPitrBackupScheduler(services: Services, pitr: PitrServices, options: PitrBackupSchedulerOptions): PitrBackupScheduler {
  return startSlotScheduler(services, pitrBackupJob(services, pitr, options));
}

function pitrBackupJob(services: Services, pitr: PitrServices, options: PitrBackupSchedulerOptions): SlotJob<PitrBackupDone> {
  const { config, log } = services;
  const post = (report: ScheduledPitrBackupReport): Promise<void> => services.notices.publish({ kind: 'scheduled-pitr-backup', report });

  /** Incremental, unless the newest full backup is older than the interval (or there is none). */
  async function chooseType(now: Date): Promise<{ type: 'full' | 'incr'; why: string }> {
    const info = await readStanzaInfo(pitr.pgbackrest);
    const fulls = info.backups.filter((b) => b.type === 'full');
    const newest = fulls[fulls.length - 1];
    const interval = formatDuration(options.fullBackupIntervalMs);
    if (!newest) return { type: 'full', why: 'there is no full backup yet' };
    const age = now.getTime() - newest.stoppedAt.getTime();
    if (age >= options.fullBackupIntervalMs) return { type: 'full', why: `the newest full backup is ${formatDuration(age)} old (PITR_FULL_BACKUP_INTERVAL ${interval})` };
    return { type: 'incr', why: `on the full backup ${newest.label}, ${formatDuration(age)} old` };
  }

  return {
    schedule: options.schedule,
    graceMs: options.graceMs,
    tickMs: options.tickMs,
    instance: options.instance,
    subject: 'scheduled base backup',
    slots: pitrBackupSlots,
    failedAction: 'pitr.backup.scheduled-failed',
    stoppedByShutdown: 'the bot was shutting down and stopped the base backup before it finished',
    givesWay: (error): error is PgBackRestError => error instanceof PgBackRestError && error.code === LOCK_ERROR,
    async run(slot, now, signal) {
      const { type, why } = await chooseType(now);
      log.info({ slot, type }, `scheduled base backup starting (${type}: ${why})`);
      const done = await takePitrBackup(pitr.pgbackrest, { type, signal });
      const { backup } = done;
      return {
        detail: { label: backup.label, type: backup.type, deltaBytes: backup.deltaBytes, durationMs: Math.round(done.tookMs) },
        result: { label: backup.label, type: backup.type },
        async announce() {
          await services.recorder
            .record({
              actor: 'recipedb-ops',
              channel: config.opsChannel,
              kind: 'backup',
              action: 'pitr.backup.scheduled',
              summary: `Scheduled base backup ${backup.label} (${backup.type}) taken: ${formatBytes(backup.deltaBytes)} copied, ${formatBytes(backup.repoDeltaBytes)} stored, in ${formatDuration(done.tookMs)}`,
              details: { slot: slot.toISOString(), label: backup.label, type: backup.type, expired: done.expired },
            })
            .catch((error: unknown) => log.error({ err: error }, 'could not record the scheduled base backup'));
          await post({
            kind: 'ok',
            slot,
            label: backup.label,
            type: backup.type,
            why,
            deltaBytes: backup.deltaBytes,
            repoDeltaBytes: backup.repoDeltaBytes,
            durationMs: done.tookMs,
            expired: done.expired,
            next: options.schedule.nextSlot(now),
            finishedAt: services.now(),
          });
        },
      };
    },
    async announceFailure(failure, cause) {
      // A base backup that could not start is only logged, and retried every tick until the end of its grace period.
      if (cause !== 'not-started') await post(failure);
    },
  };
}
