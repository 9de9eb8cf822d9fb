/**
 * `bloat [--schema NAME]`: the runbook's table bloat check — dead tuples per table, when each was
 * last vacuumed and analyzed, and which tables are due for a vacuum.
 */
import { readTableBloat, type TableBloatReport } from '../ops/postgres/bloat.js';
import { defineHandler } from './handler.js';
import { checkSchema, schemaArgs } from './schema-option.js';

export interface BloatResult {
  measuredAt: Date;
  schema: string | null;
  /** False when `--schema` names a schema that does not exist. */
  schemaFound: boolean;
  report: TableBloatReport;
}

export const bloatHandler = defineHandler({
  name: 'bloat',
  usage: 'bloat [--schema NAME]',
  summary: 'dead tuples per table, last (auto)vacuum and analyze, tables due for vacuum',
  args: schemaArgs,
  async run({ schema }, ctx): Promise<BloatResult> {
    const [schemaFound, report] = await Promise.all([
      checkSchema(ctx.db, schema),
      readTableBloat(ctx.db, { schema }),
    ]);
    return { measuredAt: ctx.now(), schema, schemaFound, report };
  },
});
