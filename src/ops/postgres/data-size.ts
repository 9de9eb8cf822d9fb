/**
 * What PostgreSQL keeps on its data volume, to set against the volume's capacity: every database
 * of the server (the volume holds them all), and the WAL when the bot may list it (pg_monitor).
 *
 *   await readDataSize(pool); // { database: 'recipe_database', databaseBytes: 5.1e8, allDatabasesBytes: 5.4e8, walBytes: 3.2e7 }
 */
import type pg from 'pg';

export interface DataSize {
  database: string;
  databaseBytes: number;
  allDatabasesBytes: number;
  /** null when pg_ls_waldir() is not allowed to the bot's user. */
  walBytes: number | null;
}

export async function readDataSize(pool: pg.Pool): Promise<DataSize> {
  const { rows } = await pool.query<{ database: string; database_bytes: number; all_bytes: number }>(`
    SELECT current_database() AS database,
           pg_database_size(current_database())::float8 AS database_bytes,
           (SELECT sum(pg_database_size(oid)) FROM pg_database WHERE datallowconn)::float8 AS all_bytes`);
  const row = rows[0];
  if (row === undefined) throw new Error('the server did not report its sizes');
  const wal = await pool
    .query<{ bytes: number }>('SELECT coalesce(sum(size), 0)::float8 AS bytes FROM pg_ls_waldir()')
    .then((r) => r.rows[0]?.bytes ?? null, () => null);
  return { database: row.database, databaseBytes: row.database_bytes, allDatabasesBytes: row.all_bytes, walBytes: wal };
}
