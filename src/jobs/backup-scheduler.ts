/**
 * Scheduled backups on BACKUP_SCHEDULE (UTC), a background job (src/jobs/start-jobs.ts). Every replica ticks every 30 s, aligned to the
 * clock; the replica that wins the slot in the state database takes the backup, records it (so an
 * open incident in OPS_CHANNEL shows it in its timeline) and publishes the result for OPS_CHANNEL (notices.ts) —
 * a failure loudly. A slot missed while every replica was down is caught up within the grace
 * period, else skipped with a line in the log.
 *
 *   const scheduler = startBackupScheduler(services, { schedule: parseCronSchedule('0 2 * * *') });
 *   await scheduler.tick(new Date('2026-01-15T02:00:05Z')); // what the timer does; tests call it with a fake clock
 *   await scheduler.stop();
 */
import type { Services } from '../context.js';
import { formatDuration } from '../duration.js';
import { describeFailure } from '../ops/failure.js';
import { BackupRunningError } from '../ops/backup/backup-lock.js';
import { describeOperation, runningOperation } from '../ops/operation-lock.js';
import { DEFAULT_GRACE_MS, dueSlot, type CronSchedule } from '../cron-schedule.js';
import type { ScheduledBackupReport } from './scheduled-backup-report.js';
import { backUpNow } from '../handlers/back-up-now.js';
import { createScrubber } from '../redact.js';
import { claimBackupSlot, finishBackupSlot, releaseBackupSlot, takeOverBackupSlot } from '../state/backup-slots.js';
import { formatTime } from '../format.js';

export const DEFAULT_TICK_MS = 30_000;

export interface BackupSchedulerOptions {
  schedule: CronSchedule;
  graceMs?: number;
  tickMs?: number;
  /** This replica, as written into backup_slots.claimed_by. */
  instance?: string;
}

export type TickResult =
  | { kind: 'idle' }
  /** This replica's previous backup is still running. */
  | { kind: 'busy' }
  | { kind: 'claimed-elsewhere'; slot: Date }
  /** A restore or another backup is running: tried again on the next tick, within the grace period. */
  | { kind: 'deferred'; slot: Date; reason: string }
  | { kind: 'skipped'; slot: Date; lateMs: number }
  | { kind: 'ran'; slot: Date; ok: true; name: string }
  | { kind: 'ran'; slot: Date; ok: false; reason: string };

export interface BackupScheduler {
  instance: string;
  tick(now?: Date): Promise<TickResult>;
  /** Stops ticking; a backup still running is cancelled (and reported as such). */
  stop(): Promise<void>;
}

/** The scheduler without its timer: `tick` is driven by the caller. */
export function createBackupScheduler(services: Services, options: BackupSchedulerOptions): BackupScheduler {
  const { config, log, state } = services;
  const instance = options.instance ?? services.instance;
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const scrub = createScrubber(config.secrets);
  const abort = new AbortController();
  /** The newest slot this replica has settled (ran, skipped, or saw claimed): no need to ask the database again. */
  let settled = 0;
  let running: Promise<TickResult> | undefined;
  /** Slots whose failure to even start was already announced, so a dead state database alerts once per slot. */
  let alertedSlot = 0;

  // For OPS_CHANNEL, through whoever listens (the Slack app); a notice never fails the slot.
  const post = (report: ScheduledBackupReport): Promise<void> => services.notices.publish({ kind: 'scheduled-backup', report });

  async function tickOnce(now: Date): Promise<TickResult> {
    const due = dueSlot(options.schedule, now, { graceMs });
    const { slot } = due;
    if (slot.getTime() <= settled) return { kind: 'idle' };
    try {
      // A database being replaced or restarted would make the backup fail or lie; maintenance only
      // waits for its locks, and yields to the backup's (its lock_timeout retries).
      const operation = await runningOperation(state);
      if (operation && operation.kind !== 'maintenance') {
        const reason = `${describeOperation(operation)} is running`;
        log.info({ slot }, `scheduled backup deferred: ${reason}`);
        return { kind: 'deferred', slot, reason };
      }
      if (!due.withinGrace) {
        const won = await claimBackupSlot(state, { slot, claimedBy: instance, skipped: { reason: 'missed', lateMs: due.lateMs } });
        if (!won) return await lateOrphan(slot, now);
        settled = slot.getTime();
        log.warn(
          { slot, lateMs: due.lateMs, graceMs, next: options.schedule.nextSlot(now) },
          `skipped the scheduled backup of ${formatTime(slot)}: no replica was running then, and ${formatDuration(due.lateMs)} later is beyond the ${formatDuration(graceMs)} grace period`,
        );
        return { kind: 'skipped', slot, lateMs: due.lateMs };
      }
      if (!(await claimBackupSlot(state, { slot, claimedBy: instance }))) {
        const other = await takeOverBackupSlot(state, { slot, claimedBy: instance, replicaTimeoutMs: config.replicaTimeoutMs });
        if (other.kind === 'free') return { kind: 'deferred', slot, reason: 'the slot was given back' };
        if (other.kind !== 'taken') {
          // A slot still running elsewhere is asked about again: its replica may yet die.
          if (other.kind === 'finished') settled = slot.getTime();
          return { kind: 'claimed-elsewhere', slot };
        }
        log.warn({ slot, from: other.from }, `taking over the scheduled backup of ${formatTime(slot)}: the replica that took it (${other.from}) stopped before finishing it`);
      }
      settled = slot.getTime();
    } catch (error) {
      // The state database did not answer: nothing is claimed, the next tick tries again.
      const reason = scrub(describeFailure(error));
      log.error({ err: error, slot }, 'scheduled backup could not start');
      if (alertedSlot !== slot.getTime()) {
        alertedSlot = slot.getTime();
        await post({ kind: 'failed', slot, reason: `it could not start (${reason}); retrying every ${formatDuration(options.tickMs ?? DEFAULT_TICK_MS)} until ${formatTime(new Date(slot.getTime() + graceMs))}`, next: options.schedule.nextSlot(now), failedAt: services.now() });
      }
      return { kind: 'deferred', slot, reason };
    }
    return runSlot(slot, now);
  }

  /** Past the grace period, an orphaned slot is not run late: it is reported as failed, once. */
  async function lateOrphan(slot: Date, now: Date): Promise<TickResult> {
    const other = await takeOverBackupSlot(state, { slot, claimedBy: instance, replicaTimeoutMs: config.replicaTimeoutMs });
    if (other.kind === 'running') return { kind: 'claimed-elsewhere', slot };
    settled = slot.getTime();
    if (other.kind !== 'taken') return { kind: 'claimed-elsewhere', slot };
    return failed(slot, now, `the replica that took it (${other.from}) stopped before finishing it, and it is now too late to take it again`);
  }

  /** A failed slot, said everywhere it must be: the log, the metric, the slot, the audit log (and open incident), OPS_CHANNEL. */
  async function failed(slot: Date, now: Date, reason: string, how: { error?: unknown; counted?: boolean } = {}): Promise<TickResult> {
    log.error({ err: how.error, slot }, `scheduled backup failed: ${reason}`);
    if (!how.counted) services.metrics.backupFailures.inc({ trigger: 'schedule' });
    await finishBackupSlot(state, slot, 'failed', { reason }).catch((e: unknown) => log.warn({ err: e, slot }, 'could not mark the backup slot failed'));
    await services.recorder
      .record({ actor: 'recipedb-ops', channel: config.opsChannel, kind: 'backup', action: 'backup.scheduled-failed', summary: `Scheduled backup of ${formatTime(slot)} FAILED: ${reason}`, details: { slot: slot.toISOString(), reason } })
      .catch((e: unknown) => log.error({ err: e }, 'could not record the failed scheduled backup'));
    await post({ kind: 'failed', slot, reason, next: options.schedule.nextSlot(now), failedAt: services.now() });
    return { kind: 'ran', slot, ok: false, reason };
  }

  async function runSlot(slot: Date, now: Date): Promise<TickResult> {
    log.info({ slot, instance }, 'scheduled backup starting');
    // A shutdown lets a running backup finish within its grace period; only then is it stopped.
    const signal = AbortSignal.any([abort.signal, services.lifecycle.stopSignal]);
    try {
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
      await finishBackupSlot(state, slot, 'ok', { name: backup.name, sizeBytes: backup.sizeBytes, durationMs: Math.round(backup.durationMs), deleted: taken.deleted }).catch(
        (error: unknown) => log.warn({ err: error, slot }, 'could not mark the backup slot finished'),
      );
      await post({
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
      });
      return { kind: 'ran', slot, ok: true, name: backup.name };
    } catch (error) {
      if (error instanceof BackupRunningError && !signal.aborted) {
        // Someone's backup is running right now: give the slot back and take ours after it.
        await releaseBackupSlot(state, slot, instance).catch((e: unknown) => log.warn({ err: e, slot }, 'could not give the backup slot back'));
        settled = 0;
        log.info({ slot, reason: error.message }, 'scheduled backup deferred');
        return { kind: 'deferred', slot, reason: error.message };
      }
      const reason = scrub(signal.aborted ? 'the bot was shutting down and stopped the backup before it finished; no file was kept' : describeFailure(error));
      // backUpNow counted it already.
      return failed(slot, now, reason, { error, counted: true });
    }
  }

  return {
    instance,
    async tick(now = services.now()) {
      if (running) return { kind: 'busy' };
      if (abort.signal.aborted || services.lifecycle.draining) return { kind: 'idle' };
      running = services.lifecycle.track(tickOnce(now));
      try {
        return await running;
      } finally {
        running = undefined;
      }
    },
    async stop() {
      abort.abort();
      await running?.catch(() => undefined);
    },
  };
}

/** The scheduler with its timer: a tick now (to catch up a missed slot), then every tickMs on the clock's boundaries. */
export function startBackupScheduler(services: Services, options: BackupSchedulerOptions): BackupScheduler {
  const scheduler = createBackupScheduler(services, options);
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  const { log } = services;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async () => {
    try {
      await scheduler.tick();
    } catch (error) {
      log.error({ err: error }, 'backup scheduler tick failed');
    }
  };
  const arm = () => {
    if (stopped) return;
    const now = services.now().getTime();
    timer = setTimeout(() => {
      // Not awaited: a long backup must not hold up the timer (the scheduler answers "busy" meanwhile).
      void tick();
      arm();
    }, Math.floor(now / tickMs + 1) * tickMs - now);
    timer.unref();
  };
  log.info(
    { schedule: options.schedule.expression, next: options.schedule.nextSlot(services.now()), opsChannel: services.config.opsChannel ?? null, instance: scheduler.instance },
    `scheduled backups on "${options.schedule.expression}" (UTC); next at ${formatTime(options.schedule.nextSlot(services.now()))}`,
  );
  if (!services.config.opsChannel) log.warn('OPS_CHANNEL is not set: scheduled backup results and failures are only logged and recorded');
  void tick();
  arm();
  return {
    instance: scheduler.instance,
    tick: (now) => scheduler.tick(now),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await scheduler.stop();
    },
  };
}
