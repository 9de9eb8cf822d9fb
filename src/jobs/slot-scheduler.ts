/**
 * Work that runs once per slot of a cron schedule (UTC) across replicas: the scheduled dumps
 * (backup-scheduler.ts) and base backups (pitr-backup-scheduler.ts). Every replica ticks every
 * 30 s, aligned to the clock; the replica whose claim of the slot's row wins (state/backup-slots.ts)
 * runs it. A slot whose replica died before finishing it is taken over; a slot missed while every
 * replica was down is caught up within the grace period, and skipped past it with a line in the log;
 * a dead replica's slot found only past the grace period is reported as failed, once. While a
 * restore or another database-replacing operation runs, the slot waits (maintenance does not hold
 * it up: it yields to the backup's locks).
 *
 *   const scheduler = createSlotScheduler(services, { subject: 'scheduled backup', slots: backupSlots, schedule, run, … });
 *   await scheduler.tick(new Date('2026-01-15T02:00:05Z')); // what the timer does (startSlotScheduler); tests call it with a fake clock
 *   await scheduler.stop();
 *
 * The job says what one run does and how its results are told; everything about the slot is here.
 */
import type { Services } from '../context.js';
import { DEFAULT_GRACE_MS, dueSlot, type CronSchedule } from '../cron-schedule.js';
import { formatDuration } from '../duration.js';
import { formatTime } from '../format.js';
import { describeFailure } from '../ops/failure.js';
import { describeOperation, runningOperation } from '../ops/operation-lock.js';
import { createScrubber } from '../redact.js';
import type { SlotTable } from '../state/backup-slots.js';
import { startClockTimer } from './clock-timer.js';

export const DEFAULT_TICK_MS = 30_000;

export type SlotTick<Done> =
  | { kind: 'idle' }
  /** This replica's previous run is still going. */
  | { kind: 'busy' }
  | { kind: 'claimed-elsewhere'; slot: Date }
  /** A restore or another run of the same work is going: tried again on the next tick, within the grace period. */
  | { kind: 'deferred'; slot: Date; reason: string }
  | { kind: 'skipped'; slot: Date; lateMs: number }
  | ({ kind: 'ran'; slot: Date; ok: true } & Done)
  | { kind: 'ran'; slot: Date; ok: false; reason: string };

export interface SlotScheduler<Done> {
  instance: string;
  tick(now?: Date): Promise<SlotTick<Done>>;
  /** Stops ticking; a run still going is cancelled (and reported as such). */
  stop(): Promise<void>;
}

/** A failed slot as OPS_CHANNEL is told of it (the `failed` kind of each job's report). */
export interface SlotFailure {
  kind: 'failed';
  slot: Date;
  reason: string;
  next: Date;
  failedAt: Date;
}

/**
 * Why a slot failed: its run failed (`run`), a dead replica left it and it is too late to run
 * (`orphaned`), or the state database did not answer at its start (`not-started`: nothing was
 * recorded, and it is tried again until the end of the grace period).
 */
export type SlotFailureCause = 'run' | 'orphaned' | 'not-started';

/** A slot's run that succeeded. */
export interface SlotRun<Done> {
  /** Kept in the slot's row. */
  detail: Record<string, unknown>;
  /** What the tick returns with `{ kind: 'ran', ok: true }`. */
  result: Done;
  /** Tells the audit log and OPS_CHANNEL, once the slot's row says it finished. */
  announce(): Promise<void>;
}

export interface SlotJob<Done> {
  /** The run in the log's and the audit log's words: "scheduled backup". */
  subject: string;
  slots: SlotTable;
  schedule: CronSchedule;
  /** The audit log's action for a failed slot. */
  failedAction: string;
  graceMs?: number;
  tickMs?: number;
  /** This replica, as written into the slot's claimed_by. */
  instance?: string;
  /** Runs a won slot; throws when the run failed. `signal` aborts on stop() and at the end of a shutdown's grace period. */
  run(slot: Date, now: Date, signal: AbortSignal): Promise<SlotRun<Done>>;
  /** True for "the same work is running right now" (a backup by hand): the slot is given back and run after it. */
  givesWay(error: unknown): error is Error;
  /** The reason of a run a shutdown stopped. */
  stoppedByShutdown: string;
  /** Tells OPS_CHANNEL (and whatever else the job counts) of a failed slot. */
  announceFailure(failure: SlotFailure, cause: SlotFailureCause): Promise<void>;
}

/** The scheduler without its timer: `tick` is driven by the caller. */
export function createSlotScheduler<Done>(services: Services, job: SlotJob<Done>): SlotScheduler<Done> {
  const { config, log, state } = services;
  const { subject, slots, schedule } = job;
  const instance = job.instance ?? services.instance;
  const graceMs = job.graceMs ?? DEFAULT_GRACE_MS;
  const tickMs = job.tickMs ?? DEFAULT_TICK_MS;
  const scrub = createScrubber(config.secrets);
  const abort = new AbortController();
  /** The newest slot this replica has settled (ran, skipped, or saw claimed): no need to ask the database again. */
  let settled = 0;
  let running: Promise<SlotTick<Done>> | undefined;
  /** The slot whose failure to even start was already announced, so a dead state database alerts once per slot. */
  let alertedSlot = 0;

  const failure = (slot: Date, now: Date, reason: string): SlotFailure => ({ kind: 'failed', slot, reason, next: schedule.nextSlot(now), failedAt: services.now() });

  async function tickOnce(now: Date): Promise<SlotTick<Done>> {
    const due = dueSlot(schedule, now, { graceMs });
    const { slot } = due;
    if (slot.getTime() <= settled) return { kind: 'idle' };
    try {
      // A database being replaced or restarted would make the backup fail or lie; maintenance only
      // waits for its locks, and yields to the backup's (its lock_timeout retries).
      const operation = await runningOperation(state);
      if (operation && operation.kind !== 'maintenance') {
        const reason = `${describeOperation(operation)} is running`;
        log.info({ slot }, `${subject} deferred: ${reason}`);
        return { kind: 'deferred', slot, reason };
      }
      if (!due.withinGrace) {
        const won = await slots.claim(state, { slot, claimedBy: instance, skipped: { reason: 'missed', lateMs: due.lateMs } });
        if (!won) return await lateOrphan(slot, now);
        settled = slot.getTime();
        log.warn(
          { slot, lateMs: due.lateMs, graceMs, next: schedule.nextSlot(now) },
          `skipped the ${subject} of ${formatTime(slot)}: no replica was running then, and ${formatDuration(due.lateMs)} later is beyond the ${formatDuration(graceMs)} grace period`,
        );
        return { kind: 'skipped', slot, lateMs: due.lateMs };
      }
      if (!(await slots.claim(state, { slot, claimedBy: instance }))) {
        const other = await slots.takeOver(state, { slot, claimedBy: instance, replicaTimeoutMs: config.replicaTimeoutMs });
        if (other.kind === 'free') return { kind: 'deferred', slot, reason: 'the slot was given back' };
        if (other.kind !== 'taken') {
          // A slot still running elsewhere is asked about again: its replica may yet die.
          if (other.kind === 'finished') settled = slot.getTime();
          return { kind: 'claimed-elsewhere', slot };
        }
        log.warn({ slot, from: other.from }, `taking over the ${subject} of ${formatTime(slot)}: the replica that took it (${other.from}) stopped before finishing it`);
      }
      settled = slot.getTime();
    } catch (error) {
      // The state database did not answer: nothing is claimed, the next tick tries again.
      const reason = scrub(describeFailure(error));
      log.error({ err: error, slot }, `${subject} could not start`);
      if (alertedSlot !== slot.getTime()) {
        alertedSlot = slot.getTime();
        const until = formatTime(new Date(slot.getTime() + graceMs));
        await job.announceFailure(failure(slot, now, `it could not start (${reason}); retrying every ${formatDuration(tickMs)} until ${until}`), 'not-started');
      }
      return { kind: 'deferred', slot, reason };
    }
    return runSlot(slot, now);
  }

  /** Past the grace period, an orphaned slot is not run late: it is reported as failed, once. */
  async function lateOrphan(slot: Date, now: Date): Promise<SlotTick<Done>> {
    const other = await slots.takeOver(state, { slot, claimedBy: instance, replicaTimeoutMs: config.replicaTimeoutMs });
    if (other.kind === 'running') return { kind: 'claimed-elsewhere', slot };
    settled = slot.getTime();
    if (other.kind !== 'taken') return { kind: 'claimed-elsewhere', slot };
    return failed(slot, now, `the replica that took it (${other.from}) stopped before finishing it, and it is now too late to take it again`, 'orphaned');
  }

  /** A failed slot, said everywhere it must be: the log, the slot, the audit log (and open incident), OPS_CHANNEL. */
  async function failed(slot: Date, now: Date, reason: string, cause: SlotFailureCause, error?: unknown): Promise<SlotTick<Done>> {
    log.error({ err: error, slot }, `${subject} failed: ${reason}`);
    await slots.finish(state, slot, 'failed', { reason }).catch((e: unknown) => log.warn({ err: e, slot }, `could not mark the ${subject} slot failed`));
    await services.recorder
      .record({ actor: 'recipedb-ops', channel: config.opsChannel, kind: 'backup', action: job.failedAction, summary: `${capitalized(subject)} of ${formatTime(slot)} FAILED: ${reason}`, details: { slot: slot.toISOString(), reason } })
      .catch((e: unknown) => log.error({ err: e }, `could not record the failed ${subject}`));
    await job.announceFailure(failure(slot, now, reason), cause);
    return { kind: 'ran', slot, ok: false, reason };
  }

  async function runSlot(slot: Date, now: Date): Promise<SlotTick<Done>> {
    // A shutdown lets a running backup finish within its grace period; only then is it stopped.
    const signal = AbortSignal.any([abort.signal, services.lifecycle.stopSignal]);
    let done: SlotRun<Done>;
    try {
      done = await job.run(slot, now, signal);
    } catch (error) {
      if (job.givesWay(error) && !signal.aborted) {
        // Someone's run of the same work is going right now: give the slot back and take ours after it.
        await slots.release(state, slot, instance).catch((e: unknown) => log.warn({ err: e, slot }, `could not give the ${subject} slot back`));
        settled = 0;
        log.info({ slot, reason: error.message }, `${subject} deferred`);
        return { kind: 'deferred', slot, reason: error.message };
      }
      return failed(slot, now, scrub(signal.aborted ? job.stoppedByShutdown : describeFailure(error)), 'run', error);
    }
    await slots.finish(state, slot, 'ok', done.detail).catch((error: unknown) => log.warn({ err: error, slot }, `could not mark the ${subject} slot finished`));
    await done.announce();
    return { kind: 'ran', slot, ok: true, ...done.result };
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
export function startSlotScheduler<Done>(services: Services, job: SlotJob<Done>): SlotScheduler<Done> {
  const scheduler = createSlotScheduler(services, job);
  const { log } = services;
  const { schedule, subject } = job;
  log.info(
    { schedule: schedule.expression, next: schedule.nextSlot(services.now()), opsChannel: services.config.opsChannel ?? null, instance: scheduler.instance },
    `${subject}s on "${schedule.expression}" (UTC); next at ${formatTime(schedule.nextSlot(services.now()))}`,
  );
  const timer = startClockTimer({
    everyMs: job.tickMs ?? DEFAULT_TICK_MS,
    now: services.now,
    tick: () => void scheduler.tick().catch((error: unknown) => log.error({ err: error }, `a tick of the ${subject}s failed`)),
  });
  return {
    instance: scheduler.instance,
    tick: (now) => scheduler.tick(now),
    async stop() {
      timer.stop();
      await scheduler.stop();
    },
  };
}

const capitalized = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
