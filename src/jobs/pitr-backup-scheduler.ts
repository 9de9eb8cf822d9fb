/**
 * Scheduled pgBackRest base backups on PITR_BACKUP_SCHEDULE (UTC), once across replicas, by the
 * rules of the dump scheduler (backup-scheduler.ts): every replica ticks, the one whose claim in
 * `pitr_backup_slots` wins takes the backup, a slot whose replica died is taken over, a missed slot
 * is caught up within the grace period. A scheduled backup is incremental, or full when the newest
 * full one is older than PITR_FULL_BACKUP_INTERVAL (or there is none); the result goes to the
 * audit log and OPS_CHANNEL (notices.ts) — a failure loudly.
 *
 *   const scheduler = createPitrBackupScheduler(services, { schedule: parseCronSchedule('0 3 * * *') });
 *   await scheduler.tick(new Date('2026-01-15T03:00:05Z')); // what the timer does; tests call it with a fake clock
 */
import type { Services } from '../context.js';
import { DEFAULT_GRACE_MS, dueSlot, type CronSchedule } from '../cron-schedule.js';
import { formatDuration } from '../duration.js';
import { formatBytes, formatTime } from '../format.js';
import { describeFailure } from '../ops/failure.js';
import { describeOperation, runningOperation } from '../ops/operation-lock.js';
import { PgBackRestError } from '../ops/pitr/pgbackrest.js';
import { readStanzaInfo } from '../ops/pitr/pgbackrest-info.js';
import { takePitrBackup } from '../ops/pitr/pitr-backup.js';
import type { PitrServices } from '../ops/pitr/pitr-services.js';
import { createScrubber } from '../redact.js';
import { claimPitrBackupSlot, finishPitrBackupSlot, releasePitrBackupSlot, takeOverPitrBackupSlot } from '../state/pitr-backup-slots.js';
import { DEFAULT_TICK_MS } from './backup-scheduler.js';
import type { ScheduledPitrBackupReport } from './scheduled-pitr-backup-report.js';

/** pgBackRest's "unable to acquire lock": another backup of the stanza runs (`pitr backup` by hand). */
const LOCK_ERROR = 50;

export interface PitrBackupSchedulerOptions {
  schedule: CronSchedule;
  fullBackupIntervalMs: number;
  graceMs?: number;
  tickMs?: number;
  instance?: string;
}

export type PitrTickResult =
  | { kind: 'idle' }
  | { kind: 'busy' }
  | { kind: 'claimed-elsewhere'; slot: Date }
  | { kind: 'deferred'; slot: Date; reason: string }
  | { kind: 'skipped'; slot: Date; lateMs: number }
  | { kind: 'ran'; slot: Date; ok: true; label: string; type: string }
  | { kind: 'ran'; slot: Date; ok: false; reason: string };

export interface PitrBackupScheduler {
  instance: string;
  tick(now?: Date): Promise<PitrTickResult>;
  stop(): Promise<void>;
}

export function createPitrBackupScheduler(services: Services, pitr: PitrServices, options: PitrBackupSchedulerOptions): PitrBackupScheduler {
  const { config, log, state } = services;
  const instance = options.instance ?? services.instance;
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const scrub = createScrubber(config.secrets);
  const abort = new AbortController();
  let settled = 0;
  let running: Promise<PitrTickResult> | undefined;
  const post = (report: ScheduledPitrBackupReport): Promise<void> => services.notices.publish({ kind: 'scheduled-pitr-backup', report });

  async function tickOnce(now: Date): Promise<PitrTickResult> {
    const due = dueSlot(options.schedule, now, { graceMs });
    const { slot } = due;
    if (slot.getTime() <= settled) return { kind: 'idle' };
    try {
      const operation = await runningOperation(state);
      if (operation && operation.kind !== 'maintenance') return { kind: 'deferred', slot, reason: `${describeOperation(operation)} is running` };
      if (!due.withinGrace) {
        const won = await claimPitrBackupSlot(state, { slot, claimedBy: instance, skipped: { reason: 'missed', lateMs: due.lateMs } });
        settled = slot.getTime();
        if (won) log.warn({ slot, lateMs: due.lateMs }, `skipped the scheduled base backup of ${formatTime(slot)}: no replica was running then`);
        return won ? { kind: 'skipped', slot, lateMs: due.lateMs } : { kind: 'claimed-elsewhere', slot };
      }
      if (!(await claimPitrBackupSlot(state, { slot, claimedBy: instance }))) {
        const other = await takeOverPitrBackupSlot(state, { slot, claimedBy: instance, replicaTimeoutMs: config.replicaTimeoutMs });
        if (other.kind === 'free') return { kind: 'deferred', slot, reason: 'the slot was given back' };
        if (other.kind !== 'taken') {
          if (other.kind === 'finished') settled = slot.getTime();
          return { kind: 'claimed-elsewhere', slot };
        }
        log.warn({ slot, from: other.from }, `taking over the scheduled base backup of ${formatTime(slot)}: the replica that took it (${other.from}) stopped before finishing it`);
      }
      settled = slot.getTime();
    } catch (error) {
      log.error({ err: error, slot }, 'scheduled base backup could not start');
      return { kind: 'deferred', slot, reason: scrub(describeFailure(error)) };
    }
    return runSlot(slot, now);
  }

  async function runSlot(slot: Date, now: Date): Promise<PitrTickResult> {
    const signal = AbortSignal.any([abort.signal, services.lifecycle.stopSignal]);
    try {
      const { type, why } = await chooseType(now);
      log.info({ slot, type }, `scheduled base backup starting (${type}: ${why})`);
      const done = await takePitrBackup(pitr.pgbackrest, { type, signal });
      const { backup } = done;
      await finishPitrBackupSlot(state, slot, 'ok', { label: backup.label, type: backup.type, deltaBytes: backup.deltaBytes, durationMs: Math.round(done.tookMs) }).catch((error: unknown) =>
        log.warn({ err: error, slot }, 'could not mark the base backup slot finished'),
      );
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
      return { kind: 'ran', slot, ok: true, label: backup.label, type: backup.type };
    } catch (error) {
      if (error instanceof PgBackRestError && error.code === LOCK_ERROR && !signal.aborted) {
        // Someone's base backup runs right now: give the slot back and take ours after it.
        await releasePitrBackupSlot(state, slot, instance).catch(() => undefined);
        settled = 0;
        return { kind: 'deferred', slot, reason: error.message };
      }
      const reason = scrub(signal.aborted ? 'the bot was shutting down and stopped the base backup before it finished' : describeFailure(error));
      log.error({ err: error, slot }, `scheduled base backup failed: ${reason}`);
      await finishPitrBackupSlot(state, slot, 'failed', { reason }).catch(() => undefined);
      await services.recorder
        .record({ actor: 'recipedb-ops', channel: config.opsChannel, kind: 'backup', action: 'pitr.backup.scheduled-failed', summary: `Scheduled base backup of ${formatTime(slot)} FAILED: ${reason}`, details: { slot: slot.toISOString(), reason } })
        .catch(() => undefined);
      await post({ kind: 'failed', slot, reason, next: options.schedule.nextSlot(now), failedAt: services.now() });
      return { kind: 'ran', slot, ok: false, reason };
    }
  }

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
export function startPitrBackupScheduler(services: Services, pitr: PitrServices, options: PitrBackupSchedulerOptions): PitrBackupScheduler {
  const scheduler = createPitrBackupScheduler(services, pitr, options);
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = (): void => {
    void scheduler.tick().catch((error: unknown) => services.log.error({ err: error }, 'base backup scheduler tick failed'));
  };
  const arm = (): void => {
    if (stopped) return;
    const now = services.now().getTime();
    timer = setTimeout(() => {
      tick();
      arm();
    }, Math.floor(now / tickMs + 1) * tickMs - now);
    timer.unref();
  };
  services.log.info({ schedule: options.schedule.expression }, `scheduled base backups on "${options.schedule.expression}" (UTC); next at ${formatTime(options.schedule.nextSlot(services.now()))}`);
  tick();
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
