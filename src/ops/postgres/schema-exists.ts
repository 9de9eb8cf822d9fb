/**
 * Whether a schema exists, so a `--schema` filter that matches nothing can say "no such schema"
 * rather than pretend the schema is empty.
 *
 *   await schemaExists(pool, 'recipe_manager') // true
 */
import type pg from 'pg';

export async function schemaExists(pool: pg.Pool, schema: string): Promise<boolean> {
  const { rows } = await pool.query<{ found: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS found',
    [schema],
  );
  return rows[0]?.found ?? false;
}
