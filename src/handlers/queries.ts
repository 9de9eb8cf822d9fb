/**
 * `queries [N]`: the N statements of this database with the highest mean execution time, or how to
 * enable pg_stat_statements when it is missing.
 */
import { z } from 'zod';
import { readSlowestStatements, type SlowestStatements } from '../ops/postgres/statements.js';
import { defineHandler } from './handler.js';

const DEFAULT_COUNT = 10;
const MAX_COUNT = 50;

export type QueriesResult = SlowestStatements & { measuredAt: Date; limit: number };

const queriesArgs = z
  .object({ positional: z.array(z.string()), flags: z.record(z.string(), z.unknown()) })
  .transform((raw, ctx) => {
    if (Object.keys(raw.flags).length > 0) {
      ctx.addIssue({ code: 'custom', message: 'takes no options' });
      return z.NEVER;
    }
    if (raw.positional.length > 1) {
      ctx.addIssue({ code: 'custom', message: 'takes at most one argument: N' });
      return z.NEVER;
    }
    const [count] = raw.positional;
    if (count === undefined) return { limit: DEFAULT_COUNT };
    const limit = /^\d+$/.test(count) ? Number(count) : NaN;
    if (!(limit >= 1 && limit <= MAX_COUNT)) {
      ctx.addIssue({ code: 'custom', message: `N must be a whole number between 1 and ${MAX_COUNT}` });
      return z.NEVER;
    }
    return { limit };
  });

export const queriesHandler = defineHandler({
  name: 'queries',
  usage: 'queries [N]',
  summary: `top N (default ${DEFAULT_COUNT}, at most ${MAX_COUNT}) statements by mean execution time from pg_stat_statements`,
  args: queriesArgs,
  async run({ limit }, ctx): Promise<QueriesResult> {
    const statements = await readSlowestStatements(ctx.db, { limit });
    return { ...statements, measuredAt: ctx.now(), limit };
  },
});
