/**
 * The scratch databases `backup verify` creates on the operated server, noted in the state
 * database while they exist: one a crash leaves behind is found (and dropped) later, and only
 * ours are ever dropped.
 *
 *   await noteScratchDatabase(state, 'recipedb_verify_0a1b2c3d4e5f', instance); … await forgetScratchDatabase(state, name);
 */
import type pg from 'pg';

export async function noteScratchDatabase(pool: pg.Pool, name: string, instance: string): Promise<void> {
  await pool.query('INSERT INTO verify_databases (name, created_by) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, instance]);
}

export async function forgetScratchDatabase(pool: pg.Pool, name: string): Promise<void> {
  await pool.query('DELETE FROM verify_databases WHERE name = $1', [name]);
}

export async function scratchDatabases(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>('SELECT name FROM verify_databases ORDER BY created_at');
  return rows.map((r) => r.name);
}
