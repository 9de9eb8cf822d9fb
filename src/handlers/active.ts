/** `active [--older-than D]`: what is running in the database now, longest first. */
import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { listActiveQueries, type ActiveQuery } from '../ops/postgres/activity.js';
import { withOperatedSession } from '../ops/postgres/reserved-session.js';
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
  .object({ positional: z.array(z.string()), flags: z.record(z.string(), z.union([z.string(), z.literal(true)])) })
  .transform((raw, ctx) => {
    if (raw.positional.length > 0) {
      ctx.addIssue({ code: 'custom', message: 'takes no arguments, only --older-than D' });
      return z.NEVER;
    }
    const unknown = Object.keys(raw.flags).filter((name) => name !== 'older-than');
    if (unknown.length > 0) {
      ctx.addIssue({ code: 'custom', message: `does not know --${unknown[0]}; it takes only --older-than D` });
      return z.NEVER;
    }
    const olderThan = raw.flags['older-than'];
    if (olderThan === undefined) return { olderThanMs: null };
    const olderThanMs = typeof olderThan === 'string' ? parseDuration(olderThan) : undefined;
    if (olderThanMs === undefined) {
      ctx.addIssue({ code: 'custom', message: '--older-than needs a duration like 30s, 10m or 2h' });
      return z.NEVER;
    }
    return { olderThanMs };
  });

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
