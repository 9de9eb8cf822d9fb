/**
 * `indexes [--schema NAME]`: the runbook's weekly index check — usage per index, and the indexes
 * worth dropping: never used, duplicated by a wider index, or invalid after a failed build (the
 * view names the `index drop` to run). `indexes --missing`: the runbook's "Adding Missing
 * Indexes" — tables read mostly by sequential scans.
 */
import { z } from 'zod';
import {
  findDuplicateIndexes,
  findInvalidIndexes,
  findUnusedIndexes,
  readIndexUsage,
  type DuplicateIndex,
  type IndexUsageList,
  type InvalidIndex,
  type UnusedIndex,
} from '../ops/postgres/indexes.js';
import { findSequentiallyReadTables, MIN_ROWS_FOR_AN_INDEX, type SequentiallyReadTable } from '../ops/postgres/missing-indexes.js';
import { noWords, onlyFlags, switchFlag } from './args.js';
import { defineHandler } from './handler.js';
import { checkSchema, schemaFlag } from './schema-option.js';

export interface IndexesResult {
  kind: 'usage';
  measuredAt: Date;
  schema: string | null;
  /** False when `--schema` names a schema that does not exist. */
  schemaFound: boolean;
  usage: IndexUsageList;
  unused: UnusedIndex[];
  duplicates: DuplicateIndex[];
  invalid: InvalidIndex[];
}

export interface MissingIndexesResult {
  kind: 'missing';
  measuredAt: Date;
  schema: string | null;
  schemaFound: boolean;
  tables: SequentiallyReadTable[];
  /** How many tables qualify (more than listed, at times). */
  total: number;
  minRows: number;
  statsResetAt: Date | null;
}

const indexesArgs = z
  .object({
    positional: noWords('takes no arguments, only --missing and --schema NAME'),
    flags: onlyFlags({ schema: schemaFlag, missing: switchFlag('--missing takes no value') }, (flag) => `has no option --${flag} (only --missing and --schema NAME)`),
  })
  .transform((raw) => ({ schema: raw.flags.schema ?? null, missing: raw.flags.missing === true }));

export const indexesHandler = defineHandler({
  name: 'indexes',
  usage: 'indexes [--missing] [--schema NAME]',
  summary: 'index usage; unused, duplicate and invalid indexes with the `index drop` to run; --missing: tables read mostly by sequential scans',
  args: indexesArgs,
  async run({ schema, missing }, ctx): Promise<IndexesResult | MissingIndexesResult> {
    const scope = { schema };
    if (missing) {
      const [schemaFound, found, usage] = await Promise.all([checkSchema(ctx.db, schema), findSequentiallyReadTables(ctx.db, scope), readIndexUsage(ctx.db, scope, 1)]);
      return { kind: 'missing', measuredAt: ctx.now(), schema, schemaFound, tables: found.tables, total: found.total, minRows: MIN_ROWS_FOR_AN_INDEX, statsResetAt: usage.statsResetAt };
    }
    const [schemaFound, usage, unused, duplicates, invalid] = await Promise.all([
      checkSchema(ctx.db, schema),
      readIndexUsage(ctx.db, scope),
      findUnusedIndexes(ctx.db, scope),
      findDuplicateIndexes(ctx.db, scope),
      findInvalidIndexes(ctx.db, scope),
    ]);
    return { kind: 'usage', measuredAt: ctx.now(), schema, schemaFound, usage, unused, duplicates, invalid };
  },
});
