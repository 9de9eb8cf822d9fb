/**
 * The runbook's weekly index check: how often each index is used, which ones are never used,
 * duplicated by a wider index, or left invalid by a failed build. Reads catalog and statistics
 * views and relation sizes only, so it is cheap on a busy database.
 *
 *   const usage = await readIndexUsage(pool, { schema: 'recipe_manager' }); // { indexes, total }
 *   const unused = await findUnusedIndexes(pool, { schema: null });
 */
import type pg from 'pg';

export interface IndexScope {
  /** null: every non-system schema. */
  schema: string | null;
}

export interface IndexUsage {
  schema: string;
  table: string;
  index: string;
  scans: number;
  sizeBytes: number;
  unique: boolean;
}

export interface IndexUsageList {
  /** Least used first, at most `limit`. */
  indexes: IndexUsage[];
  /** How many indexes are in scope. */
  total: number;
  /** Since when scans are counted; null when the statistics were never reset. */
  statsResetAt: Date | null;
}

export interface UnusedIndex {
  schema: string;
  table: string;
  index: string;
  sizeBytes: number;
}

export interface DuplicateIndex {
  schema: string;
  table: string;
  index: string;
  sizeBytes: number;
  /** Scans it got; after dropping it, the covering index takes them. */
  scans: number;
  definition: string;
  /** The index that serves every query this one serves. */
  coveredBy: string;
  coveringDefinition: string;
}

export interface InvalidIndex {
  schema: string;
  table: string;
  index: string;
  sizeBytes: number;
  /** A CREATE INDEX CONCURRENTLY still running, not a failed one. */
  beingBuilt: boolean;
}

interface UsageRow {
  schema: string;
  table: string;
  index: string;
  scans: number;
  size_bytes: number;
  unique: boolean;
  total: number;
}

/** Every index in scope with its scans and size, least used (then largest) first. */
export async function readIndexUsage(pool: pg.Pool, scope: IndexScope, limit = 1000): Promise<IndexUsageList> {
  const [usage, reset] = await Promise.all([
    pool.query<UsageRow>(
      `SELECT s.schemaname AS schema, s.relname AS table, s.indexrelname AS index,
              s.idx_scan::float8 AS scans, pg_relation_size(s.indexrelid)::float8 AS size_bytes,
              i.indisunique AS unique, count(*) OVER ()::int AS total
         FROM pg_stat_user_indexes s
         JOIN pg_index i ON i.indexrelid = s.indexrelid
        WHERE ($1::text IS NULL OR s.schemaname = $1)
          AND s.schemaname !~ '^pg_temp_'
        ORDER BY s.idx_scan, pg_relation_size(s.indexrelid) DESC, 1, 2, 3
        LIMIT $2`,
      [scope.schema, limit],
    ),
    pool.query<{ stats_reset: Date | null }>(
      'SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()',
    ),
  ]);
  return {
    indexes: usage.rows.map((r) => ({ schema: r.schema, table: r.table, index: r.index, scans: r.scans, sizeBytes: r.size_bytes, unique: r.unique })),
    total: usage.rows[0]?.total ?? 0,
    statsResetAt: reset.rows[0]?.stats_reset ?? null,
  };
}

/**
 * Indexes never scanned since the statistics were reset. Unique and exclusion indexes are left
 * out: they enforce a constraint even when no query reads them. Largest first.
 */
export async function findUnusedIndexes(pool: pg.Pool, scope: IndexScope): Promise<UnusedIndex[]> {
  const { rows } = await pool.query<{ schema: string; table: string; index: string; size_bytes: number }>(
    `SELECT s.schemaname AS schema, s.relname AS table, s.indexrelname AS index,
            pg_relation_size(s.indexrelid)::float8 AS size_bytes
       FROM pg_stat_user_indexes s
       JOIN pg_index i ON i.indexrelid = s.indexrelid
      WHERE s.idx_scan = 0
        AND NOT i.indisunique AND NOT i.indisexclusion
        AND i.indisvalid
        AND ($1::text IS NULL OR s.schemaname = $1)
        AND s.schemaname !~ '^pg_temp_'
      ORDER BY pg_relation_size(s.indexrelid) DESC, 1, 2, 3`,
    [scope.schema],
  );
  return rows.map((r) => ({ schema: r.schema, table: r.table, index: r.index, sizeBytes: r.size_bytes }));
}

/**
 * Indexes whose key columns are a leading prefix of another valid index on the same table, of the
 * same kind, with the same operator classes, collations and sort orders (PgHero's rule, compared on
 * the catalog's column numbers instead of parsed definitions). The redundant index must not be
 * unique (dropping it would drop a constraint), partial, on expressions, or carry INCLUDE columns.
 * Prefixes count only for btree; other kinds must match exactly. Of two identical indexes the
 * unique one is kept, else the older one: the later one is the mistake.
 */
export async function findDuplicateIndexes(pool: pg.Pool, scope: IndexScope): Promise<DuplicateIndex[]> {
  const { rows } = await pool.query<{
    schema: string;
    table: string;
    index: string;
    size_bytes: number;
    scans: number;
    definition: string;
    covered_by: string;
    covering_definition: string;
  }>(
    `WITH candidate AS (
       SELECT i.indexrelid, i.indrelid, n.nspname AS schema, t.relname AS table, c.relname AS index,
              am.amname AS kind, i.indisunique AS is_unique, i.indnatts > i.indnkeyatts AS has_include,
              (string_to_array(i.indkey::text, ' ')::int[])[1:i.indnkeyatts] AS keys,
              string_to_array(i.indclass::text, ' ')::oid[] AS opclasses,
              string_to_array(i.indcollation::text, ' ')::oid[] AS collations,
              string_to_array(i.indoption::text, ' ')::int[] AS options
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_class t ON t.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         JOIN pg_am am ON am.oid = c.relam
        WHERE i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname !~ '^pg_(toast|temp_)'
          AND ($1::text IS NULL OR n.nspname = $1)
     )
     SELECT DISTINCT ON (d.indexrelid)
            d.schema, d.table, d.index, pg_relation_size(d.indexrelid)::float8 AS size_bytes,
            coalesce(pg_stat_get_numscans(d.indexrelid), 0)::float8 AS scans,
            pg_get_indexdef(d.indexrelid) AS definition,
            w.index AS covered_by, pg_get_indexdef(w.indexrelid) AS covering_definition
       FROM candidate d
       JOIN candidate w ON w.indrelid = d.indrelid AND w.indexrelid <> d.indexrelid AND w.kind = d.kind
      WHERE NOT d.is_unique AND NOT d.has_include
        AND cardinality(d.keys) <= cardinality(w.keys)
        AND (d.kind = 'btree' OR cardinality(d.keys) = cardinality(w.keys))
        AND w.keys[1:cardinality(d.keys)] = d.keys
        AND w.opclasses[1:cardinality(d.keys)] = d.opclasses
        AND w.collations[1:cardinality(d.keys)] = d.collations
        AND w.options[1:cardinality(d.keys)] = d.options
        AND (cardinality(d.keys) < cardinality(w.keys) OR w.is_unique OR w.has_include OR d.indexrelid > w.indexrelid)
      ORDER BY d.indexrelid, w.is_unique DESC, cardinality(w.keys), w.index`,
    [scope.schema],
  );
  return rows
    .map((r) => ({
      schema: r.schema,
      table: r.table,
      index: r.index,
      sizeBytes: r.size_bytes,
      scans: r.scans,
      definition: r.definition,
      coveredBy: r.covered_by,
      coveringDefinition: r.covering_definition,
    }))
    .sort((a, b) => b.sizeBytes - a.sizeBytes || a.index.localeCompare(b.index));
}

/**
 * Indexes PostgreSQL does not use because they are not valid: most often a CREATE INDEX
 * CONCURRENTLY that failed (a duplicate value, a cancelled build) and left its index behind, still
 * slowing every write.
 */
export async function findInvalidIndexes(pool: pg.Pool, scope: IndexScope): Promise<InvalidIndex[]> {
  const { rows } = await pool.query<{ schema: string; table: string; index: string; size_bytes: number; being_built: boolean }>(
    `SELECT n.nspname AS schema, t.relname AS table, c.relname AS index,
            pg_relation_size(c.oid)::float8 AS size_bytes,
            EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = c.oid) AS being_built
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname !~ '^pg_(toast|temp_)'
        AND ($1::text IS NULL OR n.nspname = $1)
      ORDER BY 1, 2, 3`,
    [scope.schema],
  );
  return rows.map((r) => ({ schema: r.schema, table: r.table, index: r.index, sizeBytes: r.size_bytes, beingBuilt: r.being_built }));
}
