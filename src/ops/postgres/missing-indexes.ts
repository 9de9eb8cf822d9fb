/**
 * The runbook's "Check for missing indexes", on PostgreSQL 15's columns (relname, not tablename):
 * tables read mostly by sequential scans, with the figures that show it. Scans that read few rows
 * each (small tables, LIMITs) are left out: reading a few hundred rows is what the planner should
 * do, and an index would not help.
 *
 *   await findSequentiallyReadTables(pool, { schema: 'recipe_manager' }) // [{ table: 'reviews', seqScans: 1_200, … }]
 */
import type pg from 'pg';

export interface SequentiallyReadTable {
  schema: string;
  table: string;
  seqScans: number;
  /** Rows read by sequential scans, in all. */
  seqRowsRead: number;
  indexScans: number;
  /** Rows now (the planner's estimate). */
  rows: number;
  sizeBytes: number;
}

/** Tables whose sequential scans read fewer rows than this on average are left out. */
export const MIN_ROWS_FOR_AN_INDEX = 1_000;

export async function findSequentiallyReadTables(
  pool: pg.Pool,
  scope: { schema: string | null },
  options: { minRows?: number; limit?: number } = {},
): Promise<{ tables: SequentiallyReadTable[]; total: number }> {
  const { rows } = await pool.query<{
    schema: string; table: string; seq_scans: number; seq_rows_read: number; index_scans: number; rows: number; size_bytes: number; total: number;
  }>(
    `SELECT s.schemaname AS schema, s.relname AS table, s.seq_scan::float8 AS seq_scans, s.seq_tup_read::float8 AS seq_rows_read,
            coalesce(s.idx_scan, 0)::float8 AS index_scans,
            (CASE WHEN c.reltuples >= 0 THEN c.reltuples ELSE s.n_live_tup END)::float8 AS rows,
            pg_relation_size(s.relid)::float8 AS size_bytes, count(*) OVER ()::int AS total
       FROM pg_stat_user_tables s
       JOIN pg_class c ON c.oid = s.relid
      WHERE s.seq_scan > 0
        AND s.seq_scan > coalesce(s.idx_scan, 0)
        AND s.seq_tup_read / s.seq_scan >= $2
        AND ($1::text IS NULL OR s.schemaname = $1)
        AND s.schemaname !~ '^pg_temp_'
      ORDER BY s.seq_tup_read DESC, 1, 2
      LIMIT $3`,
    [scope.schema, options.minRows ?? MIN_ROWS_FOR_AN_INDEX, options.limit ?? 20],
  );
  return {
    tables: rows.map((r) => ({
      schema: r.schema,
      table: r.table,
      seqScans: r.seq_scans,
      seqRowsRead: r.seq_rows_read,
      indexScans: r.index_scans,
      rows: r.rows,
      sizeBytes: r.size_bytes,
    })),
    total: rows[0]?.total ?? 0,
  };
}
