/**
 * Whether the database is archiving its WAL, from `pg_stat_archiver` and the settings behind it:
 * what was archived last and when, what failed last and how often. Everything committed up to the
 * last archived segment can be recovered; a failing archive_command means nothing newer can.
 *
 *   const archiver = await readArchiverStatus(pool);
 *   archiver.healthy // false
 *   archiver.problem // 'archiving is failing: 000000010000000000000009 failed at … (12 failures since …)'
 */
import type pg from 'pg';
import { formatTime } from '../../format.js';
import { walTimeline } from './wal.js';

export interface ArchiverStatus {
  measuredAt: Date;
  archiveMode: string;
  archiveCommand: string | null;
  inRecovery: boolean;
  archivedCount: number;
  lastArchivedWal: string | null;
  lastArchivedAt: Date | null;
  failedCount: number;
  lastFailedWal: string | null;
  lastFailedAt: Date | null;
  statsResetAt: Date | null;
  /** The segment being written now, and its timeline (null during recovery). */
  currentWal: string | null;
  currentTimeline: number | null;
  /** Completed segments not archived yet (`.ready` files), when the bot may list them (pg_monitor). */
  waitingSegments: number | null;
  healthy: boolean;
  /** Why not, in one sentence. */
  problem?: string;
}

interface Row {
  measured_at: Date;
  archive_mode: string;
  archive_command: string | null;
  in_recovery: boolean;
  archived_count: string;
  last_archived_wal: string | null;
  last_archived_time: Date | null;
  failed_count: string;
  last_failed_wal: string | null;
  last_failed_time: Date | null;
  stats_reset: Date | null;
  current_wal: string | null;
}

export async function readArchiverStatus(db: pg.Pool | pg.Client): Promise<ArchiverStatus> {
  const { rows } = await db.query<Row>(
    `SELECT now() AS measured_at,
            current_setting('archive_mode') AS archive_mode,
            current_setting('archive_command', true) AS archive_command,
            pg_is_in_recovery() AS in_recovery,
            a.archived_count, a.last_archived_wal, a.last_archived_time,
            a.failed_count, a.last_failed_wal, a.last_failed_time, a.stats_reset,
            CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END AS current_wal
       FROM pg_stat_archiver a`,
  );
  const row = rows[0];
  if (!row) throw new Error('pg_stat_archiver returned no row');
  const waitingSegments = await db
    .query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_ls_archive_statusdir() WHERE name ~ '^[0-9A-F]{24}\\.ready$'`)
    .then((r) => r.rows[0]?.n ?? 0, () => null);
  const status: Omit<ArchiverStatus, 'healthy' | 'problem'> = {
    measuredAt: row.measured_at,
    archiveMode: row.archive_mode,
    archiveCommand: row.archive_command,
    inRecovery: row.in_recovery,
    archivedCount: Number(row.archived_count),
    lastArchivedWal: row.last_archived_wal,
    lastArchivedAt: row.last_archived_time,
    failedCount: Number(row.failed_count),
    lastFailedWal: row.last_failed_wal,
    lastFailedAt: row.last_failed_time,
    statsResetAt: row.stats_reset,
    currentWal: row.current_wal,
    currentTimeline: row.current_wal ? walTimeline(row.current_wal) : null,
    waitingSegments,
  };
  const problem = archivingProblem(status);
  return problem === undefined ? { ...status, healthy: true } : { ...status, healthy: false, problem };
}

export function archivingProblem(s: Omit<ArchiverStatus, 'healthy' | 'problem'>): string | undefined {
  if (s.archiveMode === 'off') return 'archive_mode is off: no WAL is archived, so nothing after the newest base backup can be recovered';
  const failedLast = s.lastFailedAt !== null && (s.lastArchivedAt === null || s.lastFailedAt > s.lastArchivedAt);
  if (failedLast) {
    return `archiving is failing: ${s.lastFailedWal ?? 'a segment'} failed at ${formatTime(s.lastFailedAt as Date)}${
      s.lastArchivedAt ? `, the last success was ${s.lastArchivedWal ?? 'a segment'} at ${formatTime(s.lastArchivedAt)}` : ', and nothing was ever archived'
    } (${s.failedCount} failures since ${s.statsResetAt ? formatTime(s.statsResetAt) : 'the statistics were reset'})`;
  }
  return undefined;
}
