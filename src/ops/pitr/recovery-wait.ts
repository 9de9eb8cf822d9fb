/**
 * After a point-in-time restore the database starts in recovery: it replays WAL up to the target,
 * then promotes itself onto a new timeline. Being able to connect proves nothing (hot standby
 * accepts read-only sessions during recovery, even in a run that fails a second later): this
 * waits until recovery has ended and the server writes on a timeline newer than before.
 *
 *   const done = await waitForPromotion(databaseUrl, { previousTimeline: 1, timeoutMs, onProgress });
 *   // { timeline: 2, lastReplayedAt: Date (the last transaction recovery applied), tookMs }
 */
import pg from 'pg';
import { formatDuration } from '../../duration.js';
import { formatTime } from '../../format.js';
import { describeFailure, failure } from '../failure.js';
import { walTimeline } from './wal.js';

export interface PromotionOptions {
  previousTimeline: number;
  timeoutMs: number;
  pollMs?: number;
  connectTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (text: string) => Promise<void>;
}

export interface Promoted {
  timeline: number;
  /** The commit time of the last transaction recovery applied (null when it applied none). */
  lastReplayedAt: Date | null;
  tookMs: number;
}

interface Row {
  in_recovery: boolean;
  pause: string | null;
  replayed: string | null;
  replayed_at: Date | null;
  wal: string | null;
}

export async function waitForPromotion(databaseUrl: string, options: PromotionOptions): Promise<Promoted> {
  const started = performance.now();
  let told = '';
  let lastProblem = 'it did not answer';
  for (;;) {
    const row = await probe(databaseUrl, options.connectTimeoutMs ?? 2_000).catch((error: unknown) => {
      lastProblem = describeFailure(error);
      return undefined;
    });
    let text: string;
    if (row === undefined) {
      text = `waiting for PostgreSQL to accept connections (${lastProblem})`;
    } else if (row.in_recovery && row.pause === 'paused') {
      throw failure('recovery paused at its target instead of promoting (recovery_target_action is not promote): `SELECT pg_wal_replay_resume()` promotes it');
    } else if (row.in_recovery) {
      const at = row.replayed_at ? `, last transaction ${formatTime(row.replayed_at)}` : '';
      text = `recovering: WAL replayed up to ${row.replayed ?? '?'}${at}`;
    } else {
      const timeline = walTimeline(row.wal ?? '');
      if (timeline <= options.previousTimeline) {
        throw failure(
          `PostgreSQL started on timeline ${timeline}, not a new one: it did not recover (was the restore skipped?)`,
        );
      }
      return { timeline, lastReplayedAt: row.replayed_at, tookMs: performance.now() - started };
    }
    if (text !== told) {
      told = text;
      await options.onProgress?.(text);
    }
    if (options.signal?.aborted) throw failure(`stopped while waiting for the database to recover (${text})`);
    if (performance.now() - started > options.timeoutMs) throw failure(`the database had not finished recovering after ${formatDuration(options.timeoutMs)}: ${text}`);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
  }
}

async function probe(databaseUrl: string, connectTimeoutMs: number): Promise<Row> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: connectTimeoutMs, application_name: 'recipedb-ops pitr-restore', statement_timeout: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<Row>(
      `SELECT pg_is_in_recovery() AS in_recovery,
              CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END AS pause,
              pg_last_wal_replay_lsn()::text AS replayed,
              pg_last_xact_replay_timestamp() AS replayed_at,
              CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END AS wal`,
    );
    const row = rows[0];
    if (!row) throw new Error('no answer');
    return row;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Until the server no longer accepts connections (its pod is gone), or the timeout. */
export async function waitUntilDown(databaseUrl: string, options: { timeoutMs: number; pollMs?: number }): Promise<void> {
  const started = performance.now();
  for (;;) {
    const up = await probe(databaseUrl, 1_000).then(
      () => true,
      () => false,
    );
    if (!up) return;
    if (performance.now() - started > options.timeoutMs) throw failure(`the database still accepted connections ${formatDuration(options.timeoutMs)} after its deployment was scaled to 0`);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 300));
  }
}
