/**
 * Row counts of VERIFY_TABLES: the runbook's proof that a restore brought the data back.
 *
 *   await countRows(client, ['recipe_manager.recipes']) // { 'recipe_manager.recipes': 300 }, null for a missing table
 */
import type pg from 'pg';
import { quoteIdent } from '../postgres/quote-ident.js';

export type RowCounts = Record<string, number | null>;

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
