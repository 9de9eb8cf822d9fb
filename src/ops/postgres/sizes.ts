/**
 * The runbook's monthly size check: the largest tables (split into heap, indexes and TOAST) and
 * the largest indexes, with the database total. Sizes come from the relation files, not from
 * reading rows, so this is cheap on a busy database.
 *
 *   const sizes = await readRelationSizes(pool, { schema: null }); // { databaseBytes, tables, indexes, … }
 */
import type pg from 'pg';

export interface SizeScope {
  /** null: every non-system schema. */
  schema: string | null;
}

export interface TableSize {
  schema: string;
  table: string;
  totalBytes: number;
  /** The heap with its free space and visibility maps. */
  tableBytes: number;
  indexBytes: number;
  /** Out-of-line storage of long values, with its own index. */
  toastBytes: number;
  /** The planner's row estimate; null before the first VACUUM or ANALYZE. */
  rowsEstimate: number | null;
}

export interface IndexSize {
  schema: string;
  table: string;
  index: string;
  sizeBytes: number;
}

export interface RelationSizes {
  database: string;
  databaseBytes: number;
  /** Largest first, at most `limit`. */
  tables: TableSize[];
  tableCount: number;
  /** Everything the tables in scope take, indexes and TOAST included. */
  tablesTotalBytes: number;
  /** Largest first, at most `limit`. */
  indexes: IndexSize[];
  indexCount: number;
}

export async function readRelationSizes(pool: pg.Pool, scope: SizeScope, limit = 20): Promise<RelationSizes> {
  const [database, tables, indexes] = await Promise.all([
    pool.query<{ database: string; bytes: number }>(
      'SELECT current_database() AS database, pg_database_size(current_database())::float8 AS bytes',
    ),
    pool.query<{
      schema: string;
      table: string;
      total_bytes: number;
      table_bytes: number;
      index_bytes: number;
      toast_bytes: number;
      rows_estimate: number;
      count: number;
      all_bytes: number;
    }>(
      `WITH sized AS (
         SELECT n.nspname AS schema, c.relname AS table,
                pg_total_relation_size(c.oid)::float8 AS total_bytes,
                pg_table_size(c.oid)::float8 AS heap_and_toast_bytes,
                pg_indexes_size(c.oid)::float8 AS index_bytes,
                coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0)::float8 AS toast_bytes,
                c.reltuples::float8 AS rows_estimate
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'm')
            AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND n.nspname !~ '^pg_(toast|temp_)'
            AND ($1::text IS NULL OR n.nspname = $1)
       )
       SELECT schema, "table", total_bytes, heap_and_toast_bytes - toast_bytes AS table_bytes, index_bytes, toast_bytes,
              rows_estimate, count(*) OVER ()::int AS count, sum(total_bytes) OVER () AS all_bytes
         FROM sized
        ORDER BY total_bytes DESC, schema, "table"
        LIMIT $2`,
      [scope.schema, limit],
    ),
    pool.query<{ schema: string; table: string; index: string; size_bytes: number; count: number }>(
      `SELECT n.nspname AS schema, t.relname AS table, c.relname AS index,
              pg_relation_size(c.oid)::float8 AS size_bytes, count(*) OVER ()::int AS count
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_class t ON t.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname !~ '^pg_(toast|temp_)'
          AND ($1::text IS NULL OR n.nspname = $1)
        ORDER BY pg_relation_size(c.oid) DESC, 1, 2, 3
        LIMIT $2`,
      [scope.schema, limit],
    ),
  ]);
  const db = database.rows[0];
  if (!db) throw new Error('the database returned no size');
  return {
    database: db.database,
    databaseBytes: db.bytes,
    tables: tables.rows.map((r) => ({
      schema: r.schema,
      table: r.table,
      totalBytes: r.total_bytes,
      tableBytes: r.table_bytes,
      indexBytes: r.index_bytes,
      toastBytes: r.toast_bytes,
      rowsEstimate: r.rows_estimate < 0 ? null : r.rows_estimate,
    })),
    tableCount: tables.rows[0]?.count ?? 0,
    tablesTotalBytes: tables.rows[0]?.all_bytes ?? 0,
    indexes: indexes.rows.map((r) => ({ schema: r.schema, table: r.table, index: r.index, sizeBytes: r.size_bytes })),
    indexCount: indexes.rows[0]?.count ?? 0,
  };
}

export interface ServerDiskUse {
  /** Every database on the server (the data volume holds them all). */
  databasesBytes: number;
  /** pg_wal; null when the bot may not list it (pg_monitor is needed). */
  walBytes: number | null;
}

/** What the server keeps on its data volume, as far as SQL can see it. */
export async function readServerDiskUse(pool: pg.Pool): Promise<ServerDiskUse> {
  const [databases, wal] = await Promise.all([
    pool.query<{ bytes: number }>(`SELECT coalesce(sum(pg_database_size(oid)), 0)::float8 AS bytes FROM pg_database WHERE datallowconn`),
    pool.query<{ bytes: number }>(`SELECT coalesce(sum(size), 0)::float8 AS bytes FROM pg_ls_waldir()`).catch(() => null),
  ]);
  return { databasesBytes: databases.rows[0]?.bytes ?? 0, walBytes: wal?.rows[0]?.bytes ?? null };
}
