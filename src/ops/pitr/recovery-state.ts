/**
 * Whether the database has finished recovering, asked once through a pool: it answers, and
 * `pg_is_in_recovery()` is false. A server replaying WAL to a restore's target accepts read-only
 * sessions (and pg_isready says yes) long before it promotes, so "it answers" is not enough; a
 * server that does not answer has not finished either. For a job that looks again on its next
 * tick; the procedure itself waits with waitForPromotion (recovery-wait.ts).
 *
 *   const state = await readRecoveryState(services.db);
 *   // { finished: true, timeline: 2 } | { finished: false, why: 'it is still in recovery (WAL replayed up to 0/5000028)' }
 */
import type pg from 'pg';
import { describeFailure } from '../failure.js';
import { walTimeline } from './wal.js';

export type RecoveryState = { finished: true; timeline: number } | { finished: false; why: string };

interface Row {
  in_recovery: boolean;
  pause: string | null;
  replayed: string | null;
  wal: string | null;
}

export async function readRecoveryState(db: pg.Pool): Promise<RecoveryState> {
  let row: Row | undefined;
  try {
    const { rows } = await db.query<Row>(
      `SELECT pg_is_in_recovery() AS in_recovery,
              CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END AS pause,
              pg_last_wal_replay_lsn()::text AS replayed,
              CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END AS wal`,
    );
    row = rows[0];
  } catch (error) {
    return { finished: false, why: `it does not answer (${describeFailure(error)})` };
  }
  if (!row) return { finished: false, why: 'it gave no answer' };
  if (row.in_recovery && row.pause === 'paused') return { finished: false, why: 'its recovery is paused at the target instead of promoting (`SELECT pg_wal_replay_resume()` promotes it)' };
  if (row.in_recovery) return { finished: false, why: `it is still in recovery (WAL replayed up to ${row.replayed ?? '?'})` };
  return { finished: true, timeline: row.wal ? walTimeline(row.wal) : 0 };
}
