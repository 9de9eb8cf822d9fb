/**
 * The runbook's table bloat check: dead tuples per table from the statistics views, when each
 * table was last vacuumed and analyzed, and whether it is due for a vacuum by autovacuum's own
 * rule. No table is read, so this is cheap on a busy database (unlike pgstattuple).
 *
 *   const report = await readTableBloat(pool, { schema: 'recipe_manager' }); // { tables, total, due }
 */
import type pg from 'pg';

export interface BloatScope {
  /** null: every non-system schema. */
  schema: string | null;
}

export interface TableBloat {
  schema: string;
  table: string;
  liveTuples: number;
  deadTuples: number;
  /** dead / (live + dead); null for an empty table. */
  deadRatio: number | null;
  lastVacuum: Date | null;
  lastAutovacuum: Date | null;
  lastAnalyze: Date | null;
  lastAutoanalyze: Date | null;
  /** Dead tuples above which autovacuum vacuums this table (threshold + scale factor × rows). */
  vacuumThreshold: number;
  dueForVacuum: boolean;
  /** Off globally or by this table's `autovacuum_enabled = false`. */
  autovacuumEnabled: boolean;
}

export interface TableBloatReport {
  /** Tables due for vacuum first, then by dead tuples; at most `limit`. */
  tables: TableBloat[];
  /** Tables in scope. */
  total: number;
  /** Tables in scope due for vacuum (they come first in `tables`). */
  due: number;
  /** Tables in scope over the runbook's 1,000 dead tuples. */
  overRunbookLimit: number;
}

/** The runbook flags tables with more dead tuples than this. */
export const RUNBOOK_DEAD_TUPLES = 1000;

interface Row {
  schema: string;
  table: string;
  live: number;
  dead: number;
  last_vacuum: Date | null;
  last_autovacuum: Date | null;
  last_analyze: Date | null;
  last_autoanalyze: Date | null;
  vacuum_threshold: number;
  due: boolean;
  autovacuum_enabled: boolean;
  total: number;
  total_due: number;
  total_over_limit: number;
}

export async function readTableBloat(pool: pg.Pool, scope: BloatScope, limit = 50): Promise<TableBloatReport> {
  // Autovacuum's rule (autovacuum.c), with the table's own reloptions in place of the server's
  // settings when set. reltuples is -1 before the first VACUUM or ANALYZE; autovacuum reads it as 0.
  const { rows } = await pool.query<Row>(
    `WITH tables AS (
       SELECT s.schemaname AS schema, s.relname AS table,
              s.n_live_tup::float8 AS live, s.n_dead_tup::float8 AS dead,
              s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
              coalesce(o.threshold, current_setting('autovacuum_vacuum_threshold')::float8)
                + coalesce(o.scale_factor, current_setting('autovacuum_vacuum_scale_factor')::float8)
                  * greatest(c.reltuples, 0) AS vacuum_threshold,
              current_setting('autovacuum')::bool AND coalesce(o.enabled, true) AS autovacuum_enabled
         FROM pg_stat_user_tables s
         JOIN pg_class c ON c.oid = s.relid
         LEFT JOIN LATERAL (
           SELECT max(option_value) FILTER (WHERE option_name = 'autovacuum_vacuum_threshold')::float8 AS threshold,
                  max(option_value) FILTER (WHERE option_name = 'autovacuum_vacuum_scale_factor')::float8 AS scale_factor,
                  max(option_value) FILTER (WHERE option_name = 'autovacuum_enabled')::bool AS enabled
             FROM pg_options_to_table(c.reloptions)
         ) o ON true
        WHERE ($1::text IS NULL OR s.schemaname = $1)
          AND s.schemaname !~ '^pg_temp_'
     )
     SELECT *, dead > vacuum_threshold AS due,
            count(*) OVER ()::int AS total,
            count(*) FILTER (WHERE dead > vacuum_threshold) OVER ()::int AS total_due,
            count(*) FILTER (WHERE dead > $3) OVER ()::int AS total_over_limit
       FROM tables
      ORDER BY dead > vacuum_threshold DESC, dead DESC, schema, "table"
      LIMIT $2`,
    [scope.schema, limit, RUNBOOK_DEAD_TUPLES],
  );
  return {
    tables: rows.map((r) => ({
      schema: r.schema,
      table: r.table,
      liveTuples: r.live,
      deadTuples: r.dead,
      deadRatio: r.live + r.dead > 0 ? r.dead / (r.live + r.dead) : null,
      lastVacuum: r.last_vacuum,
      lastAutovacuum: r.last_autovacuum,
      lastAnalyze: r.last_analyze,
      lastAutoanalyze: r.last_autoanalyze,
      vacuumThreshold: Math.floor(r.vacuum_threshold),
      dueForVacuum: r.due,
      autovacuumEnabled: r.autovacuum_enabled,
    })),
    total: rows[0]?.total ?? 0,
    due: rows[0]?.total_due ?? 0,
    overRunbookLimit: rows[0]?.total_over_limit ?? 0,
  };
}
