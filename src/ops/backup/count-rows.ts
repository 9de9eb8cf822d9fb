/**
 * Row counts of VERIFY_TABLES: the runbook's proof that a restore brought the data back.
 *
 *   await countRows(client, ['recipe_manager.recipes']) // { 'recipe_manager.recipes': 300 }, null for a missing table
 *   await countRowsReadOnly(client, tables) // the same, in a read-only transaction of its own (after a restore)
 */
import type pg from 'pg';
import { quoteIdent } from '../postgres/quote-ident.js';

export type RowCounts = Record<string, number | null>;

/** Counting big tables takes longer than the pool's statement timeout allows for a status query. */
const COUNT_STATEMENT_TIMEOUT = '10min';

export async function countRows(client: pg.ClientBase, tables: readonly string[]): Promise<RowCounts> {
  const counts: RowCounts = {};
  for (const table of tables) {
    const [schema, name] = table.split('.') as [string, string];
    const qualified = `${quoteIdent(schema)}.${quoteIdent(name)}`;
    // A missing table is an answer (null), not an error: an error would abort the caller's transaction.
    const exists = await client.query<{ found: string | null }>(`SELECT to_regclass($1)::text AS found`, [qualified]);
    if (exists.rows[0]?.found == null) {
      counts[table] = null;
      continue;
    }
    const { rows } = await client.query<{ rows: string }>(`SELECT count(*) AS rows FROM ${qualified}`);
    counts[table] = Number(rows[0]?.rows ?? 0);
  }
  return counts;
}

/** The counts in one read-only transaction, under a statement timeout meant for big tables; rolled back on failure. */
export async function countRowsReadOnly(client: pg.ClientBase, tables: readonly string[]): Promise<RowCounts> {
  await client.query('BEGIN READ ONLY');
  try {
    await client.query(`SELECT set_config('statement_timeout', $1, true)`, [COUNT_STATEMENT_TIMEOUT]);
    const counts = await countRows(client, tables);
    await client.query('COMMIT');
    return counts;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
