/**
 * How far a maintenance statement has got, from PostgreSQL's progress views for its backend:
 * pg_stat_progress_vacuum (VACUUM), pg_stat_progress_cluster (VACUUM FULL), pg_stat_progress_analyze
 * (ANALYZE, and the ANALYZE half of VACUUM (ANALYZE)), pg_stat_progress_create_index (CREATE INDEX,
 * REINDEX). Also whether it waits for a lock, and behind whom.
 *
 *   await readStatementProgress(pool, 4242)
 *   // { phase: 'seq scanning heap', done: 5_000, total: 12_000, unit: 'blocks', waitingForLock: false }
 */
import type pg from 'pg';

export interface StatementProgress {
  /** The command as the view names it: VACUUM, VACUUM FULL, ANALYZE, CREATE INDEX CONCURRENTLY… */
  command: string;
  phase: string;
  /** done of total `unit`, when the phase counts something. */
  done: number | null;
  total: number | null;
  unit: string | null;
  /** The statement waits for a heavyweight lock right now. */
  waitingForLock: boolean;
}

interface Row {
  command: string | null;
  phase: string | null;
  done: number | null;
  total: number | null;
  unit: string | null;
  waiting: boolean | null;
}

/**
 * A backend reports one command at a time, so at most one view has a row for it (VACUUM (ANALYZE)
 * shows in the vacuum view, then in the analyze view). Null when the backend is gone.
 */
export async function readStatementProgress(pool: pg.Pool, pid: number): Promise<StatementProgress | null> {
  const { rows } = await pool.query<Row>(
    `WITH progress AS (
       SELECT 'VACUUM' AS command, phase,
              CASE phase WHEN 'scanning heap' THEN heap_blks_scanned WHEN 'vacuuming heap' THEN heap_blks_vacuumed END::float8 AS done,
              CASE WHEN phase IN ('scanning heap', 'vacuuming heap') THEN heap_blks_total END::float8 AS total,
              CASE WHEN phase IN ('scanning heap', 'vacuuming heap') THEN 'blocks' END AS unit
         FROM pg_stat_progress_vacuum WHERE pid = $1
       UNION ALL
       SELECT command, phase,
              CASE WHEN phase = 'seq scanning heap' THEN heap_blks_scanned
                   WHEN phase IN ('index scanning heap', 'writing new heap') THEN heap_tuples_written
                   WHEN phase = 'rebuilding index' THEN index_rebuild_count END::float8,
              CASE WHEN phase = 'seq scanning heap' THEN heap_blks_total
                   WHEN phase IN ('index scanning heap', 'writing new heap') THEN nullif(heap_tuples_scanned, 0) END::float8,
              CASE WHEN phase = 'seq scanning heap' THEN 'blocks'
                   WHEN phase IN ('index scanning heap', 'writing new heap') THEN 'rows'
                   WHEN phase = 'rebuilding index' THEN 'indexes rebuilt' END
         FROM pg_stat_progress_cluster WHERE pid = $1
       UNION ALL
       SELECT command, phase,
              CASE WHEN blocks_total > 0 THEN blocks_done WHEN tuples_total > 0 THEN tuples_done
                   WHEN lockers_total > 0 THEN lockers_done WHEN partitions_total > 0 THEN partitions_done END::float8,
              CASE WHEN blocks_total > 0 THEN blocks_total WHEN tuples_total > 0 THEN tuples_total
                   WHEN lockers_total > 0 THEN lockers_total WHEN partitions_total > 0 THEN partitions_total END::float8,
              CASE WHEN blocks_total > 0 THEN 'blocks' WHEN tuples_total > 0 THEN 'rows'
                   WHEN lockers_total > 0 THEN 'transactions' WHEN partitions_total > 0 THEN 'partitions' END
         FROM pg_stat_progress_create_index WHERE pid = $1
       UNION ALL
       SELECT 'ANALYZE', phase,
              CASE WHEN phase = 'acquiring sample rows' THEN sample_blks_scanned
                   WHEN phase = 'acquiring inherited sample rows' THEN child_tables_done END::float8,
              CASE WHEN phase = 'acquiring sample rows' THEN sample_blks_total
                   WHEN phase = 'acquiring inherited sample rows' THEN child_tables_total END::float8,
              CASE WHEN phase = 'acquiring sample rows' THEN 'blocks'
                   WHEN phase = 'acquiring inherited sample rows' THEN 'child tables' END
         FROM pg_stat_progress_analyze WHERE pid = $1
     )
     SELECT p.command, p.phase, p.done, p.total, p.unit, a.wait_event_type = 'Lock' AS waiting
       FROM pg_stat_activity a
       LEFT JOIN LATERAL (SELECT * FROM progress LIMIT 1) p ON true
      WHERE a.pid = $1`,
    [pid],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    command: row.command ?? '',
    phase: row.phase ?? '',
    done: row.done,
    total: row.total,
    unit: row.unit,
    waitingForLock: row.waiting === true,
  };
}

/** "seq scanning heap 42% (5,000 of 12,000 blocks)"; "waiting for a lock"; "" when nothing is known. */
export function describeProgress(progress: StatementProgress | null): string {
  if (!progress) return '';
  if (progress.waitingForLock) return 'waiting for a lock';
  if (!progress.phase) return '';
  const { done, total, unit } = progress;
  if (done !== null && total !== null && total > 0) {
    const percent = Math.min(100, Math.floor((done / total) * 100));
    return `${progress.phase} ${percent}% (${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} ${unit ?? ''})`.replace(/ \)$/, ')');
  }
  if (done !== null && unit) return `${progress.phase} (${done.toLocaleString('en-US')} ${unit})`;
  return progress.phase;
}
