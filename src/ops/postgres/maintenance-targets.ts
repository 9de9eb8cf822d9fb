/**
 * The tables and indexes a maintenance command names, as the catalog knows them: exact names
 * (schema, relation), kinds, sizes, row estimates, whether the bot's role may maintain them, and
 * for indexes the constraint they back. Statements are later built from these catalog names, never
 * from what was typed.
 *
 *   await findRelations(pool, { schema: null, name: 'recipes' }) // [{ kind: 'table', schema: 'recipe_manager', … }]
 *   await listTables(pool, { partitioned: false })              // every user table, one at a time for VACUUM
 */
import type pg from 'pg';

export type RelationKind = 'table' | 'partitioned table' | 'materialized view' | 'index' | 'partitioned index';

export interface RelationName {
  /** null: any schema outside the system ones. */
  schema: string | null;
  name: string;
}

export interface Relation {
  oid: number;
  kind: RelationKind;
  schema: string;
  name: string;
  /** The relation alone (for a table: its heap and TOAST, without indexes). */
  bytes: number;
  /** A table's indexes together; 0 for an index. */
  indexBytes: number;
  /** Estimated rows (pg_class.reltuples); null before the first VACUUM or ANALYZE. */
  rows: number | null;
  /** The bot's role owns it (or is a member of its owner, or a superuser). */
  owned: boolean;
  /** For an index: its table, and what it is. */
  index?: IndexFacts;
}

export interface IndexFacts {
  tableOid: number;
  table: string;
  method: string;
  valid: boolean;
  unique: boolean;
  exclusion: boolean;
  /** The constraint the index backs (primary key, unique, exclusion), or a foreign key that depends on it. */
  constraint: { name: string; kind: 'primary key' | 'unique' | 'exclusion' | 'foreign key'; table: string } | null;
  definition: string;
  /** Index scans since the statistics were reset. */
  scans: number;
}

const SYSTEM_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

const KIND: Record<string, RelationKind> = { r: 'table', p: 'partitioned table', m: 'materialized view', i: 'index', I: 'partitioned index' };

interface RelationRow {
  oid: number;
  relkind: string;
  schema: string;
  name: string;
  bytes: number;
  index_bytes: number;
  rows: number | null;
  owned: boolean;
  table_oid: number | null;
  table_name: string | null;
  method: string | null;
  valid: boolean | null;
  is_unique: boolean | null;
  exclusion: boolean | null;
  definition: string | null;
  constraint_name: string | null;
  constraint_type: string | null;
  constraint_table: string | null;
  scans: number | null;
}

const RELATION_COLUMNS = `
  c.oid, c.relkind::text AS relkind, n.nspname AS schema, c.relname AS name,
  CASE WHEN c.relkind IN ('i', 'I') THEN pg_relation_size(c.oid)
       ELSE pg_table_size(c.oid) END::float8 AS bytes,
  CASE WHEN c.relkind IN ('i', 'I') THEN 0 ELSE pg_indexes_size(c.oid) END::float8 AS index_bytes,
  CASE WHEN c.reltuples >= 0 THEN c.reltuples END::float8 AS rows,
  pg_has_role(c.relowner, 'USAGE') AS owned,
  i.indrelid::oid AS table_oid, t.relname AS table_name, am.amname AS method, i.indisvalid AS valid,
  i.indisunique AS is_unique, i.indisexclusion AS exclusion,
  CASE WHEN i.indexrelid IS NOT NULL THEN pg_get_indexdef(c.oid) END AS definition,
  con.conname AS constraint_name, con.contype::text AS constraint_type, con.table_name AS constraint_table,
  CASE WHEN i.indexrelid IS NOT NULL THEN coalesce(pg_stat_get_numscans(c.oid), 0) END::float8 AS scans`;

const RELATION_JOINS = `
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_index i ON i.indexrelid = c.oid
  LEFT JOIN pg_class t ON t.oid = i.indrelid
  LEFT JOIN pg_am am ON am.oid = c.relam
  LEFT JOIN LATERAL (
    -- The constraint the index backs first; else a foreign key that needs it (conindid names it too).
    SELECT k.conname, k.contype, format('%I.%I', kn.nspname, kt.relname) AS table_name
      FROM pg_constraint k
      JOIN pg_class kt ON kt.oid = k.conrelid
      JOIN pg_namespace kn ON kn.oid = kt.relnamespace
     WHERE k.conindid = c.oid AND i.indexrelid IS NOT NULL
     ORDER BY k.contype = 'f', k.conname
     LIMIT 1
  ) con ON true`;

const CONSTRAINT_KIND: Record<string, NonNullable<IndexFacts['constraint']>['kind']> = { p: 'primary key', u: 'unique', x: 'exclusion', f: 'foreign key' };

function toRelation(r: RelationRow): Relation {
  const kind = KIND[r.relkind] ?? 'table';
  const relation: Relation = { oid: r.oid, kind, schema: r.schema, name: r.name, bytes: r.bytes, indexBytes: r.index_bytes, rows: r.rows, owned: r.owned };
  if (r.table_oid !== null) {
    relation.index = {
      tableOid: r.table_oid,
      table: r.table_name ?? '',
      method: r.method ?? '',
      valid: r.valid ?? false,
      unique: r.is_unique ?? false,
      exclusion: r.exclusion ?? false,
      definition: r.definition ?? '',
      scans: r.scans ?? 0,
      constraint:
        r.constraint_name !== null && r.constraint_type !== null && CONSTRAINT_KIND[r.constraint_type]
          ? { name: r.constraint_name, kind: CONSTRAINT_KIND[r.constraint_type] as NonNullable<IndexFacts['constraint']>['kind'], table: r.constraint_table ?? '' }
          : null,
    };
  }
  return relation;
}

/**
 * Tables, materialized views and indexes outside the system schemas with this name. An unquoted
 * name folds to lower case in SQL, so `Recipes` finds `recipes` unless a relation is really named `Recipes`.
 */
export async function findRelations(pool: pg.Pool, wanted: RelationName): Promise<Relation[]> {
  const { rows } = await pool.query<RelationRow>(
    `SELECT ${RELATION_COLUMNS}, c.relname = $2 AND ($1::text IS NULL OR n.nspname = $1) AS exact
       FROM pg_class c ${RELATION_JOINS}
      WHERE c.relkind IN ('r', 'p', 'm', 'i', 'I')
        AND c.relname IN ($2, lower($2))
        AND ($1::text IS NULL OR n.nspname IN ($1, lower($1)))
        AND ${SYSTEM_SCHEMAS}
      ORDER BY 1`,
    [wanted.schema, wanted.name],
  );
  const exact = (rows as (RelationRow & { exact: boolean })[]).filter((r) => r.exact);
  return (exact.length ? exact : rows).map(toRelation);
}

export async function findRelationByOid(pool: pg.Pool, oid: number): Promise<Relation | null> {
  const { rows } = await pool.query<RelationRow>(`SELECT ${RELATION_COLUMNS} FROM pg_class c ${RELATION_JOINS} WHERE c.oid = $1`, [oid]);
  return rows[0] ? toRelation(rows[0]) : null;
}

/** Every table (and materialized view) outside the system schemas, by schema and name. */
export async function listTables(pool: pg.Pool, options: { partitioned: boolean }): Promise<Relation[]> {
  const { rows } = await pool.query<RelationRow>(
    `SELECT ${RELATION_COLUMNS}
       FROM pg_class c ${RELATION_JOINS}
      WHERE c.relkind IN ('r', 'm', 'p') AND (c.relkind <> 'p' OR $1) AND c.relpersistence <> 't' AND ${SYSTEM_SCHEMAS}
      ORDER BY n.nspname, c.relname`,
    [options.partitioned],
  );
  return rows.map(toRelation);
}

/** The indexes of a table, by name. */
export async function tableIndexes(pool: pg.Pool, tableOid: number): Promise<Relation[]> {
  const { rows } = await pool.query<RelationRow>(
    `SELECT ${RELATION_COLUMNS} FROM pg_class c ${RELATION_JOINS} WHERE i.indrelid = $1 ORDER BY c.relname`,
    [tableOid],
  );
  return rows.map(toRelation);
}

/** The invalid indexes of a table now (a failed concurrent build leaves one). */
export async function invalidIndexes(pool: pg.Pool, tableOid: number): Promise<{ oid: number; schema: string; name: string }[]> {
  const { rows } = await pool.query<{ oid: number; schema: string; name: string }>(
    `SELECT c.oid, n.nspname AS schema, c.relname AS name
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.indrelid = $1 AND NOT i.indisvalid
      ORDER BY c.relname`,
    [tableOid],
  );
  return rows;
}

/** Whether the bot's role owns the database (then it may VACUUM and ANALYZE every table in it). */
export async function ownsDatabase(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ owns: boolean }>(
    `SELECT pg_has_role(datdba, 'USAGE') AS owns FROM pg_database WHERE datname = current_database()`,
  );
  return rows[0]?.owns ?? false;
}

export interface ColumnFacts {
  name: string;
  /** Average stored width from the statistics, when the table was analyzed. */
  avgWidth: number | null;
}

/** The named columns of a table (as the catalog spells them), or the names it does not have. */
export async function findColumns(pool: pg.Pool, tableOid: number, names: readonly string[]): Promise<{ found: ColumnFacts[]; missing: string[] }> {
  const { rows } = await pool.query<{ attname: string; avg_width: number | null }>(
    `SELECT a.attname, s.avg_width
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname AND NOT s.inherited
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped`,
    [tableOid],
  );
  const found: ColumnFacts[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const column = rows.find((r) => r.attname === name) ?? rows.find((r) => r.attname === name.toLowerCase());
    if (column) found.push({ name: column.attname, avgWidth: column.avg_width });
    else missing.push(name);
  }
  return { found, missing };
}

/** Whether any relation (table, index, sequence, view…) in the schema has this name. */
export async function relationNameTaken(pool: pg.Pool, schema: string, name: string): Promise<boolean> {
  const { rows } = await pool.query<{ taken: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2) AS taken`,
    [schema, name],
  );
  return rows[0]?.taken ?? false;
}

/** Sizes now: a table with its indexes and TOAST, or an index. Null when it no longer exists. */
export async function relationTotalBytes(pool: pg.Pool, oid: number): Promise<number | null> {
  const { rows } = await pool.query<{ bytes: number | null }>('SELECT pg_total_relation_size($1::oid)::float8 AS bytes', [oid]);
  return rows[0]?.bytes ?? null;
}
