/**
 * `queries [N] [--by total|mean|calls]`: the N statements of this database that cost the most
 * (total time by default, as PgHero: one-off bulk loads top a mean-time list but cost little), or
 * how to enable pg_stat_statements when it is missing.
 */
import { z } from 'zod';
import { readSlowestStatements, type SlowestStatements, type StatementOrder } from '../ops/postgres/statements.js';
import { defineHandler } from './handler.js';

const DEFAULT_COUNT = 10;
const MAX_COUNT = 50;

const ORDERS: readonly StatementOrder[] = ['total', 'mean', 'calls'];

export type QueriesResult = SlowestStatements & { measuredAt: Date; limit: number; by: StatementOrder };

const queriesArgs = z
  .object({ positional: z.array(z.string()), flags: z.record(z.string(), z.unknown()) })
  .transform((raw, ctx) => {
    const unknown = Object.keys(raw.flags).find((f) => f !== 'by');
    if (unknown !== undefined) {
      ctx.addIssue({ code: 'custom', message: `does not know --${unknown}; it takes only --by total|mean|calls` });
      return z.NEVER;
    }
    const by = raw.flags.by ?? 'total';
    if (typeof by !== 'string' || !(ORDERS as readonly string[]).includes(by)) {
      ctx.addIssue({ code: 'custom', message: '--by takes total, mean or calls' });
      return z.NEVER;
    }
    if (raw.positional.length > 1) {
      ctx.addIssue({ code: 'custom', message: 'takes at most one argument: N' });
      return z.NEVER;
    }
    const [count] = raw.positional;
    if (count === undefined) return { limit: DEFAULT_COUNT, by: by as StatementOrder };
    const limit = /^\d+$/.test(count) ? Number(count) : NaN;
    if (!(limit >= 1 && limit <= MAX_COUNT)) {
      ctx.addIssue({ code: 'custom', message: `N must be a whole number between 1 and ${MAX_COUNT}` });
      return z.NEVER;
    }
    return { limit, by: by as StatementOrder };
  });

export const queriesHandler = defineHandler({
  name: 'queries',
  usage: 'queries [N] [--by total|mean|calls]',
  summary: `top N (default ${DEFAULT_COUNT}, at most ${MAX_COUNT}) statements from pg_stat_statements, by total time (default), mean time or calls`,
  args: queriesArgs,
  async run({ limit, by }, ctx): Promise<QueriesResult> {
    const statements = await readSlowestStatements(ctx.db, { limit, by });
    return { ...statements, measuredAt: ctx.now(), limit, by };
  },
});
