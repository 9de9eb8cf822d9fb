/**
 * The pieces command handlers build their argument schemas from, so that words, options a command
 * does not take, durations and the like are read and refused the same way everywhere.
 *
 *   const eventsArgs = z
 *     .object({
 *       positional: noWords('takes no words, only --since D'),
 *       flags: onlyFlags({ since: durationFlag('--since takes a duration like 30m or 2h') }, (flag) => `does not take --${flag} (it takes --since)`),
 *     })
 *     .transform(({ flags }) => ({ since: flags.since?.text ?? null, sinceMs: flags.since?.ms ?? null }));
 *
 * What is wrong is found in this order, and the first problem is what the operator reads: the
 * words, then an option the command does not take, then each option's value in the order of the
 * shape.
 */
import { z } from 'zod';
import { parseDuration } from '../duration.js';

/** A flag as the command line gives it: `--name value`, a bare `--switch`, or absent. */
export const flagValue = z.union([z.string(), z.literal(true)]).optional();

/** No words after the command, only options; `message` may quote what was typed. */
export function noWords(message: string | ((words: string[]) => string)) {
  return z.array(z.string()).superRefine((words, ctx) => {
    if (words.length > 0) ctx.addIssue({ code: 'custom', message: typeof message === 'string' ? message : message(words) });
  });
}

/**
 * The options a command takes, each read by its schema; any other is refused with `unknown(flag)`
 * before any value is looked at (a misspelt option says so, not that another one's value is wrong).
 */
export function onlyFlags<Shape extends z.ZodRawShape>(shape: Shape, unknown: (flag: string) => string) {
  const known = new Set(Object.keys(shape));
  return z
    .record(z.string(), z.unknown())
    .superRefine((flags, ctx) => {
      const other = Object.keys(flags).find((flag) => !known.has(flag));
      if (other !== undefined) ctx.addIssue({ code: 'custom', message: unknown(other) });
    })
    .pipe(z.object(shape));
}

/** No options at all. */
export function noFlags(message: string) {
  return onlyFlags({}, () => message);
}

/** A duration as typed (`90m`) and in milliseconds. */
export interface DurationValue {
  text: string;
  ms: number;
}

/**
 * `--since D`, `--older-than D`: a duration above zero (or zero, with `zero: 'allowed'`); anything
 * else, a bare flag included, is refused with `message`.
 */
export function durationFlag(message: string, options: { zero?: 'allowed' } = {}) {
  return flagValue.transform((value, ctx): DurationValue | undefined => {
    if (value === undefined) return undefined;
    const ms = value === true ? undefined : parseDuration(value);
    if (ms === undefined || (ms === 0 && options.zero !== 'allowed')) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return { text: value as string, ms };
  });
}

/** `--previous`, `--missing`: on when given, and it takes no value. */
export function switchFlag(message: string) {
  return z.literal(true, { error: message }).optional();
}

/** `--lines N`: a whole number from `min` to `max`. */
export function countFlag(bounds: { min: number; max: number }, message: string) {
  return flagValue.transform((value, ctx): number | undefined => {
    if (value === undefined) return undefined;
    const count = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
    if (!(count >= bounds.min && count <= bounds.max)) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return count;
  });
}
