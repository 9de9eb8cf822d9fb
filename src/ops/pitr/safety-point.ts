/**
 * The safety point a point-in-time restore records before it touches anything: a named restore
 * point, the exact time and LSN, then a commit after that time (recovery to a time stops only at a
 * commit after it: on an idle database the target would never be reached) and a WAL switch, waited
 * for until the segment is in the archive. From then on the current state is recoverable: going
 * back is a `restore --to-time <that time> --timeline <that timeline>`.
 *
 *   const point = await recordSafetyPoint(pool, { name: 'recipedb-ops before pitr-restore a1b2', timeoutMs: 120_000 });
 *   // { at: '2026-12-03 12:20:01.123456+00', lsn: '0/9000028', timeline: 1, wal: '000000010000000000000009', … }
 */
import type pg from 'pg';
import { formatDuration } from '../../duration.js';
import { failure } from '../failure.js';
import { walTimeline } from './wal.js';

export interface SafetyPoint {
  /** The moment, to the microsecond, as recovery_target_time takes it. */
  at: string;
  atIso: string;
  lsn: string;
  timeline: number;
  restorePoint: string;
  /** The segment switched to the archive, and how long archiving it took. */
  wal: string;
  archivedMs: number;
}

export interface SafetyPointOptions {
  name: string;
  timeoutMs: number;
  pollMs?: number;
  signal?: AbortSignal;
  onProgress?: (text: string) => Promise<void>;
}

export async function recordSafetyPoint(db: pg.Pool, options: SafetyPointOptions): Promise<SafetyPoint> {
  const point = await granted(
    db.query<{ lsn: string; at: string; at_iso: string }>(
      `SELECT lsn::text,
              to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS at,
              to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || 'Z' AS at_iso
         FROM (SELECT pg_create_restore_point($1) AS lsn, clock_timestamp() AS at) p`,
      [options.name],
    ),
  );
  // Its own transaction, committed after the point: the commit recovery stops at.
  await db.query('SELECT txid_current()');
  const switched = await granted(db.query<{ wal: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS wal'));
  const row = point.rows[0];
  const wal = switched.rows[0]?.wal;
  if (!row || !wal) throw new Error('the safety point query returned nothing');
  const started = performance.now();
  await waitUntilArchived(db, wal, options);
  return { at: row.at, atIso: row.at_iso, lsn: row.lsn, timeline: walTimeline(wal), restorePoint: options.name, wal, archivedMs: performance.now() - started };
}

/** Until `wal` has left pg_wal/archive_status as `.ready`, or archiving it fails for longer than the timeout. */
export async function waitUntilArchived(db: pg.Pool, wal: string, options: Omit<SafetyPointOptions, 'name'>): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  let told = '';
  for (;;) {
    const { rows } = await db.query<{ ready: boolean | null; last_archived_wal: string | null; last_failed_wal: string | null; last_failed_time: Date | null }>(
      `SELECT coalesce((SELECT bool_or(name = $1 || '.ready') FROM pg_ls_archive_statusdir()), false) AS ready,
              last_archived_wal, last_failed_wal, last_failed_time
         FROM pg_stat_archiver`,
      [wal],
    ).catch(() =>
      // Without pg_monitor the status folder cannot be listed: the archiver's last word decides.
      db.query<{ ready: null; last_archived_wal: string | null; last_failed_wal: string | null; last_failed_time: Date | null }>(
        'SELECT NULL::boolean AS ready, last_archived_wal, last_failed_wal, last_failed_time FROM pg_stat_archiver',
      ),
    );
    const row = rows[0];
    const lastSegment = row?.last_archived_wal && /^[0-9A-F]{24}$/.test(row.last_archived_wal) ? row.last_archived_wal : null;
    const archived = row?.ready === false || (row?.ready === null && lastSegment !== null && lastSegment >= wal);
    if (archived) return;
    const failing = row?.last_failed_wal === wal ? ` — archiving it failed at ${row.last_failed_time?.toISOString() ?? '?'}, PostgreSQL keeps retrying` : '';
    const text = `waiting for WAL segment ${wal} to reach the archive${failing}`;
    if (text !== told) {
      told = text;
      await options.onProgress?.(text);
    }
    if (performance.now() > deadline) {
      throw failure(`WAL segment ${wal} did not reach the archive within ${formatDuration(options.timeoutMs)}${failing ? ': archiving it keeps failing (see the database log)' : ''}; nothing was restored`);
    }
    if (options.signal?.aborted) throw failure('the restore was stopped while waiting for the WAL to be archived; nothing was restored');
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
  }
}

async function granted<T>(query: Promise<T>): Promise<T> {
  try {
    return await query;
  } catch (error) {
    if ((error as { code?: string }).code === '42501') {
      throw failure(
        "the bot's database user may not create a restore point or switch WAL: GRANT EXECUTE ON FUNCTION pg_create_restore_point(text), pg_switch_wal() TO it",
        error,
      );
    }
    throw error;
  }
}
