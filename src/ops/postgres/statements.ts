/**
 * The runbook's "Identifying Slow Queries": the statements of this database that cost the most,
 * from pg_stat_statements: by total time (PgHero's default: what the server spent), mean time or
 * calls. A missing extension is an answer, not a failure.
 *
 *   const top = await readSlowestStatements(pool, { limit: 10, by: 'total' });
 *   if (top.available) top.statements[0]?.totalMs;
 */
import type pg from 'pg';
import { quoteIdent } from './quote-ident.js';

export interface StatementStats {
  /** Normalised text: constants replaced by $1, $2 … */
  query: string;
  user: string | null;
  calls: number;
  totalMs: number;
  meanMs: number;
  /** Standard deviation of the execution time: a mean over very different runs says little. */
  stddevMs: number;
  rows: number;
}

/** What ranks the statements. */
export type StatementOrder = 'total' | 'mean' | 'calls';

/** Why pg_stat_statements cannot be read: never created in this database, or not preloaded by the server. */
export type StatementsMissing = 'not-created' | 'not-preloaded';

export type SlowestStatements =
  | { available: true; statements: StatementStats[]; statsSince: Date | null }
  | { available: false; missing: StatementsMissing };

export interface ReadSlowestStatementsOptions {
  limit?: number;
  by?: StatementOrder;
}

// PostgreSQL 13 split planning from execution time and renamed the columns.
const EXEC_TIME_COLUMNS_SINCE = 130_000;
// pg_stat_statements_info (with stats_reset) arrived in PostgreSQL 14.
const STATS_INFO_SINCE = 140_000;
// Long enough for any view; pg_stat_statements can hold texts of many kilobytes.
const QUERY_TEXT_MAX = 4_000;

interface StatementRow {
  query: string;
  user: string | null;
  calls: string;
  total_ms: number;
  mean_ms: number;
  stddev_ms: number;
  rows: string;
}

export async function readSlowestStatements(
  pool: pg.Pool,
  { limit = 10, by = 'total' }: ReadSlowestStatementsOptions = {},
): Promise<SlowestStatements> {
  const setup = await pool.query<{ version_num: number; schema: string | null }>(`
    SELECT current_setting('server_version_num')::int AS version_num,
           (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
             WHERE e.extname = 'pg_stat_statements') AS schema`);
  const { version_num: versionNum, schema } = setup.rows[0] ?? { version_num: 0, schema: null };
  if (schema === null) return { available: false, missing: 'not-created' };
  const view = `${quoteIdent(schema)}.pg_stat_statements`;

  try {
    const columns = versionNum >= EXEC_TIME_COLUMNS_SINCE
      ? { total: 'total_exec_time', mean: 'mean_exec_time', stddev: 'stddev_exec_time' }
      : { total: 'total_time', mean: 'mean_time', stddev: 'stddev_time' };
    const sql = statementsSql(view, columns, by);
    const [statements, statsSince] = await Promise.all([
      pool.query<StatementRow>(sql, [limit, QUERY_TEXT_MAX]),
      versionNum >= STATS_INFO_SINCE ? readStatsReset(pool, schema) : Promise.resolve(null),
    ]);
    return { available: true, statements: statements.rows.map(toStatementStats), statsSince };
  } catch (error) {
    const missing = missingFrom(error);
    if (missing) return { available: false, missing };
    throw error;
  }
}

/** PostgreSQL 13 renamed the time columns (total_time → total_exec_time); the rest is the same. */
function statementsSql(view: string, columns: { total: string; mean: string; stddev: string }, by: StatementOrder): string {
  // Column names from the table above only, never from input.
  const order = { total: columns.total, mean: columns.mean, calls: 'calls' }[by];
  return `
    SELECT left(s.query, $2) AS query, r.rolname AS user, s.calls::text AS calls,
           s.${columns.total} AS total_ms, s.${columns.mean} AS mean_ms, s.${columns.stddev} AS stddev_ms, s.rows::text AS rows
      FROM ${view} s
      LEFT JOIN pg_roles r ON r.oid = s.userid
     WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND s.calls > 0
       AND s.query NOT ILIKE '%pg_stat_statements%'
     ORDER BY s.${order} DESC, s.${columns.total} DESC
     LIMIT $1`;
}

async function readStatsReset(pool: pg.Pool, schema: string): Promise<Date | null> {
  const { rows } = await pool.query<{ stats_reset: Date | null }>(
    `SELECT stats_reset FROM ${quoteIdent(schema)}.pg_stat_statements_info`,
  );
  return rows[0]?.stats_reset ?? null;
}

function toStatementStats(row: StatementRow): StatementStats {
  return {
    query: row.query,
    user: row.user,
    calls: Number(row.calls),
    totalMs: row.total_ms,
    meanMs: row.mean_ms,
    stddevMs: row.stddev_ms,
    rows: Number(row.rows),
  };
}

/** The two ways PostgreSQL says the extension is not usable here. */
function missingFrom(error: unknown): StatementsMissing | undefined {
  const { code, message } = error as { code?: string; message?: string };
  if (code === '42P01') return 'not-created';
  if (code === '55000' && /shared_preload_libraries/i.test(message ?? '')) return 'not-preloaded';
  return undefined;
}
