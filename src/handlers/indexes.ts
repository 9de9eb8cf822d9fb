/**
 * `indexes [--schema NAME]`: the runbook's weekly index check — usage per index, and the indexes
 * worth dropping: never used, duplicated by a wider index, or invalid after a failed build.
 */
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
import { defineHandler } from './handler.js';
import { checkSchema, schemaArgs } from './schema-option.js';

export interface IndexesResult {
  measuredAt: Date;
  schema: string | null;
  /** False when `--schema` names a schema that does not exist. */
  schemaFound: boolean;
  usage: IndexUsageList;
  unused: UnusedIndex[];
  duplicates: DuplicateIndex[];
  invalid: InvalidIndex[];
}

export const indexesHandler = defineHandler({
  name: 'indexes',
  usage: 'indexes [--schema NAME]',
  summary: 'index usage; unused, duplicate and invalid indexes',
  args: schemaArgs,
  async run({ schema }, ctx): Promise<IndexesResult> {
    const scope = { schema };
    const [schemaFound, usage, unused, duplicates, invalid] = await Promise.all([
      checkSchema(ctx.db, schema),
      readIndexUsage(ctx.db, scope),
      findUnusedIndexes(ctx.db, scope),
      findDuplicateIndexes(ctx.db, scope),
      findInvalidIndexes(ctx.db, scope),
    ]);
    return { measuredAt: ctx.now(), schema, schemaFound, usage, unused, duplicates, invalid };
  },
});
