/** Whether the database answers at all (readiness). */
import type pg from 'pg';

export async function ping(pool: pg.Pool): Promise<void> {
  await pool.query('SELECT 1');
}
