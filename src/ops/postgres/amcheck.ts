/**
 * Data integrity with amcheck (PostgreSQL's contrib module): whether it is installed and the bot
 * may run it, the B-tree indexes bt_index_check can verify (valid, ready, not another session's
 * temporary ones, catalogs and TOAST included), the tables verify_heapam reads, and what the
 * server counted of page checksum failures.
 *
 *   const status = await readAmcheckStatus(pool); // { schema: 'public', version: '1.3', mayCheckIndexes: true, … }
 *   session.query(indexCheckStatement(status.schema), [index.oid, false]); // throws XX002 on a corrupt index
 */
import type pg from 'pg';
import { quoteIdent } from './quote-ident.js';

export interface AmcheckStatus {
  /** Where the extension lives; null when it is not installed in this database. */
  schema: string | null;
  version: string | null;
  /** The server has the module (postgresql-contrib), so CREATE EXTENSION would work. */
  available: boolean;
  mayCheckIndexes: boolean;
  mayCheckHeap: boolean;
  role: string;
}

export async function readAmcheckStatus(pool: pg.Pool): Promise<AmcheckStatus> {
  const { rows } = await pool.query<{ schema: string | null; version: string | null; available: boolean; role: string }>(
    `SELECT n.nspname AS schema, e.extversion AS version,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck') AS available,
            current_user AS role
       FROM (SELECT 1) one
       LEFT JOIN pg_extension e ON e.extname = 'amcheck'
       LEFT JOIN pg_namespace n ON n.oid = e.extnamespace`,
  );
  const row = rows[0];
  const schema = row?.schema ?? null;
  let mayCheckIndexes = false;
  let mayCheckHeap = false;
  if (schema !== null) {
    const rights = await pool.query<{ indexes: boolean; heap: boolean }>(
      `SELECT has_function_privilege(current_user, format('%I.bt_index_check(regclass, boolean)', $1::text), 'EXECUTE') AS indexes,
              has_function_privilege(current_user, format('%I.verify_heapam(regclass, boolean, boolean, text, bigint, bigint)', $1::text), 'EXECUTE') AS heap`,
      [schema],
    );
    mayCheckIndexes = rights.rows[0]?.indexes ?? false;
    mayCheckHeap = rights.rows[0]?.heap ?? false;
  }
  return { schema, version: row?.version ?? null, available: row?.available ?? false, mayCheckIndexes, mayCheckHeap, role: row?.role ?? '' };
}

export interface CheckableIndex {
  oid: number;
  schema: string;
  name: string;
  /** Its table, `schema.table` (a TOAST table for TOAST indexes). */
  table: string;
  /** What to rebuild when it is corrupt: the index itself, or for a TOAST index the table owning it. */
  repair: { kind: 'index' | 'table' | 'catalog'; name: string };
  bytes: number;
}

/** Every B-tree index bt_index_check accepts, or those of one table (and its TOAST table), by schema and name. */
export async function listCheckableIndexes(pool: pg.Pool, tableOid: number | null): Promise<CheckableIndex[]> {
  const { rows } = await pool.query<{ oid: number; schema: string; name: string; table: string; owner: string | null; bytes: number }>(
    `SELECT c.oid, n.nspname AS schema, c.relname AS name, format('%I.%I', tn.nspname, t.relname) AS table,
            (SELECT format('%I.%I', on_.nspname, o.relname) FROM pg_class o JOIN pg_namespace on_ ON on_.oid = o.relnamespace
              WHERE o.reltoastrelid = t.oid) AS owner,
            pg_relation_size(c.oid)::float8 AS bytes
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_namespace tn ON tn.oid = t.relnamespace
       JOIN pg_am am ON am.oid = c.relam
      WHERE am.amname = 'btree' AND c.relkind = 'i'
        AND i.indisvalid AND i.indisready AND i.indislive
        AND c.relpersistence <> 't'
        AND ($1::oid IS NULL OR i.indrelid = $1 OR i.indrelid = (SELECT reltoastrelid FROM pg_class WHERE oid = $1))
      ORDER BY n.nspname = 'pg_catalog', n.nspname ~ '^pg_toast', n.nspname, c.relname`,
    [tableOid],
  );
  return rows.map((r) => ({
    oid: r.oid,
    schema: r.schema,
    name: r.name,
    table: r.table,
    bytes: r.bytes,
    repair:
      r.schema === 'pg_catalog'
        ? { kind: 'catalog', name: `${r.schema}.${r.name}` }
        : r.owner !== null
          ? { kind: 'table', name: r.owner }
          : { kind: 'index', name: `${r.schema}.${r.name}` },
  }));
}

export interface HeapTable {
  oid: number;
  schema: string;
  name: string;
  bytes: number;
}

/** The tables (and materialized views) verify_heapam reads: every one, catalogs included, or the one named. */
export async function listHeapTables(pool: pg.Pool, tableOid: number | null): Promise<HeapTable[]> {
  const { rows } = await pool.query<HeapTable>(
    `SELECT c.oid, n.nspname AS schema, c.relname AS name, pg_relation_size(c.oid)::float8 AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't'
        AND ($1::oid IS NULL OR c.oid = $1)
      ORDER BY n.nspname = 'pg_catalog', n.nspname, c.relname`,
    [tableOid],
  );
  return rows;
}

/** `SELECT "schema".bt_index_check($1::oid::regclass, $2::boolean)`: $1 the index, $2 heapallindexed. */
export function indexCheckStatement(amcheckSchema: string): string {
  return `SELECT ${quoteIdent(amcheckSchema)}.bt_index_check($1::oid::regclass, $2::boolean)`;
}

/** verify_heapam of $1, as one row: how many problems, and the first five. */
export function heapCheckStatement(amcheckSchema: string): string {
  return `SELECT count(*)::int AS problems,
                 coalesce(json_agg(format('block %s, item %s%s: %s', blkno, offnum, CASE WHEN attnum IS NULL THEN '' ELSE format(', attribute %s', attnum) END, msg))
                   FILTER (WHERE n <= 5), '[]') AS first
            FROM (SELECT v.*, row_number() OVER () AS n FROM ${quoteIdent(amcheckSchema)}.verify_heapam($1::oid::regclass) v) problems`;
}

export interface ChecksumState {
  /** data_checksums: set at initdb (or with pg_checksums while the server is stopped). */
  enabled: boolean;
  /** Failures counted in this database since its statistics were reset; null without checksums. */
  failures: number | null;
  lastFailure: Date | null;
}

export async function readChecksums(pool: pg.Pool): Promise<ChecksumState> {
  const { rows } = await pool.query<{ enabled: string; failures: number | null; last_failure: Date | null }>(
    `SELECT current_setting('data_checksums') AS enabled, checksum_failures::float8 AS failures, checksum_last_failure AS last_failure
       FROM pg_stat_database WHERE datname = current_database()`,
  );
  const row = rows[0];
  return { enabled: row?.enabled === 'on', failures: row?.failures ?? null, lastFailure: row?.last_failure ?? null };
}
