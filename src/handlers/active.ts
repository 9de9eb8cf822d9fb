/** `active [--older-than D]`: what is running in the database now, longest first. */
import { z } from 'zod';
import { listActiveQueries, type ActiveQuery } from '../ops/postgres/activity.js';
import { withOperatedSession } from '../ops/postgres/reserved-session.js';
import { durationFlag, noWords, onlyFlags } from './args.js';
import { defineHandler } from './handler.js';

export interface ActiveResult {
  measuredAt: Date;
  /** null: every running query. */
  olderThanMs: number | null;
  queries: ActiveQuery[];
  /** Read over the bot's reserved session: the pool could not connect (no free slot). */
  viaReservedSession: boolean;
}

const activeArgs = z
  .object({
    positional: noWords('takes no arguments, only --older-than D'),
    flags: onlyFlags(
      // 0s: every running query.
      { 'older-than': durationFlag('--older-than needs a duration like 30s, 10m or 2h', { zero: 'allowed' }) },
      (flag) => `does not know --${flag}; it takes only --older-than D`,
    ),
  })
  .transform(({ flags }) => ({ olderThanMs: flags['older-than']?.ms ?? null }));

export const activeHandler = defineHandler({
  name: 'active',
  usage: 'active [--older-than D]',
  summary: 'running queries: pid, user, duration, state, wait event, query text',
  args: activeArgs,
  async run({ olderThanMs }, ctx): Promise<ActiveResult> {
    return withOperatedSession(ctx.db, ctx.reserved, async ({ session, reserved }) => ({
      measuredAt: ctx.now(),
      olderThanMs,
      queries: await listActiveQueries(session, { olderThanMs: olderThanMs ?? 0 }),
      viaReservedSession: reserved,
    }));
  },
});
