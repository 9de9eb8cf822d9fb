/**
 * `sizes [--schema NAME]`: the runbook's monthly size check — the largest tables and indexes and
 * the database total.
 */
import { readRelationSizes, type RelationSizes } from '../ops/postgres/sizes.js';
import { defineHandler } from './handler.js';
import { checkSchema, schemaArgs } from './schema-option.js';

export interface SizesResult {
  measuredAt: Date;
  schema: string | null;
  /** False when `--schema` names a schema that does not exist. */
  schemaFound: boolean;
  sizes: RelationSizes;
}

export const sizesHandler = defineHandler({
  name: 'sizes',
  usage: 'sizes [--schema NAME]',
  summary: 'largest tables (table, indexes, TOAST) and indexes, database size',
  args: schemaArgs,
  async run({ schema }, ctx): Promise<SizesResult> {
    const [schemaFound, sizes] = await Promise.all([
      checkSchema(ctx.db, schema),
      readRelationSizes(ctx.db, { schema }),
    ]);
    return { measuredAt: ctx.now(), schema, schemaFound, sizes };
  },
});
