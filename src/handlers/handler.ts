/**
 * What a command handler is: a zod schema for its arguments and a `run` that calls ops and returns
 * plain data for a view. Handlers know nothing about Slack.
 *
 *   export const statusHandler = defineHandler({ name: 'status', usage: 'status', summary: '…', args: noArgs, run: … });
 */
import { z } from 'zod';
import type { Actor, Services } from '../context.js';
import { noFlags, noWords } from './args.js';

/** A command line split into positional words and `--flag value` / `--switch` options. */
export interface RawArgs {
  positional: string[];
  flags: Record<string, string | true>;
  /** Everything after the command word, as typed (free text such as an incident note). */
  text: string;
}

export interface CommandInfo {
  name: string;
  usage: string;
  summary: string;
  gated: boolean;
  recordsOwnTimeline?: boolean;
}

/** What a progress message shows besides its text. */
export interface ProgressOptions {
  /** A **Cancel** button for this maintenance run (its id in the state database). */
  cancelRun?: string;
}

export type ProgressReporter = (text: string, options?: ProgressOptions) => Promise<void>;

export interface HandlerContext extends Services {
  actor: Actor;
  /** Every command, for `help`. */
  commands: readonly CommandInfo[];
  /** Long work reports progress here (the bot turns it into message edits). */
  progress: ProgressReporter;
  /** The audit log entry of this very command line, when it was written. */
  commandRecordId?: number;
}

export interface Handler<Args, Result> {
  name: string;
  usage: string;
  summary: string;
  gated?: boolean;
  /** The handler records its own, more telling timeline event; its command line stays in the audit log only. */
  recordsOwnTimeline?: boolean;
  /**
   * The result in one plain line for the incident timeline ("status: WARN, connections 195/200").
   * Without it, the timeline gets the answer's notification text.
   */
  verdict?: (result: Result) => string;
  /** Parses a RawArgs; a failure's message is shown to the user with the usage. */
  args: z.ZodType<Args>;
  run(args: Args, ctx: HandlerContext): Promise<Result>;
}

export function defineHandler<Args, Result>(handler: Handler<Args, Result>): Handler<Args, Result> {
  return handler;
}

/** For commands that take no arguments. */
export const noArgs = z.object({ positional: noWords('takes no arguments'), flags: noFlags('takes no options') }).transform(() => ({}));
