/**
 * A schedule (BACKUP_SCHEDULE and the like): a cron expression read in UTC, and the rule for which
 * slot is due. Only the most recent slot ever counts: a slot missed while every replica was down is caught up once if
 * it is still within the grace period, and skipped (with a word in the log) when it is older.
 *
 *   const schedule = parseCronSchedule('0 2 * * *');
 *   schedule.latestSlot(new Date('2026-01-15T02:00:20Z')) // 2026-01-15T02:00:00Z
 *   dueSlot(schedule, now, { graceMs: 3_600_000 }) // { slot, lateMs, withinGrace }
 */
import { CronExpressionParser } from 'cron-parser';

export const DEFAULT_GRACE_MS = 60 * 60 * 1000;

export interface CronSchedule {
  expression: string;
  /** The most recent slot at or before `at`. */
  latestSlot(at: Date): Date;
  /** The first slot strictly after `at`. */
  nextSlot(at: Date): Date;
}

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

export function parseCronSchedule(expression: string): CronSchedule {
  const parse = (at: Date) => CronExpressionParser.parse(expression, { tz: 'UTC', currentDate: at });
  try {
    // Parsing alone accepts some impossible schedules (30 February); finding a slot does not.
    parse(new Date()).next();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ScheduleError(`"${expression}" is not a cron expression the bot can follow (${reason})`);
  }
  return {
    expression,
    // cron-parser's prev() is strictly before its current date: start just after `at` to include it.
    latestSlot: (at) => parse(new Date(at.getTime() + 1)).prev().toDate(),
    nextSlot: (at) => parse(at).next().toDate(),
  };
}

export interface DueSlot {
  slot: Date;
  /** How long after the slot `now` is. */
  lateMs: number;
  /** False: missed long ago; skip it rather than back up at an unexpected hour. */
  withinGrace: boolean;
}

export function dueSlot(schedule: CronSchedule, now: Date, options: { graceMs?: number } = {}): DueSlot {
  const slot = schedule.latestSlot(now);
  const lateMs = now.getTime() - slot.getTime();
  return { slot, lateMs, withinGrace: lateMs <= (options.graceMs ?? DEFAULT_GRACE_MS) };
}
