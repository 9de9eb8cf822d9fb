/**
 * The one option of `indexes`, `bloat` and `sizes`: `--schema NAME` narrows the answer to one schema.
 *
 *   schemaArgs.parse({ positional: [], flags: { schema: 'recipe_manager' } }) // { schema: 'recipe_manager' }
 */
import { z } from 'zod';
import type pg from 'pg';
import { schemaExists } from '../ops/postgres/schema-exists.js';
import { noWords, onlyFlags } from './args.js';

// Only plain identifier characters: the name travels as a bind parameter anyway, but anything else
// is far more likely a typo than a real schema, and the operator should hear so.
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

export interface SchemaArgs {
  /** null: every non-system schema. */
  schema: string | null;
}

/** The `--schema NAME` flag's value, for commands with more options than this one. */
export const schemaFlag = z
  .string({ error: 'needs a schema name after --schema' })
  .regex(SCHEMA_NAME, '--schema takes a schema name: letters, digits and _, at most 63 characters')
  .optional();

export const schemaArgs: z.ZodType<SchemaArgs> = z
  .object({
    positional: noWords('takes no arguments, only --schema NAME'),
    flags: onlyFlags({ schema: schemaFlag }, (flag) => `has no option --${flag} (only --schema NAME)`),
  })
  .transform((raw) => ({ schema: raw.flags.schema ?? null }));

/** Whether the `--schema` given exists; no filter always does. */
export function checkSchema(db: pg.Pool, schema: string | null): Promise<boolean> {
  return schema === null ? Promise.resolve(true) : schemaExists(db, schema);
}
