/**
 * Keeps the history small: rows older than a day are folded into 5-minute rows, 5-minute rows
 * older than a week into hourly ones, and rows older than HISTORY_RETENTION are deleted. 30 days
 * at 1m are then about 3,700 rows instead of 43,200 (README: *History*).
 *
 *   const done = await downsampleHistory(pool, { now: new Date(), retentionMs: 30 * DAY_MS });
 *   // { foldedInto5m: 288, foldedIntoHourly: 24, deleted: 0 } or null when another replica is at it
 *
 * A folded row keeps the shape of what it replaces: means weighted by the samples they stand for
 * (connections), sums of the counter increases (so rates and the cache hit stay exact over the
 * bucket), the worst value seen (longest transaction, locks waiting, replication lag, peak
 * connections) and the last size seen.
 */
import type pg from 'pg';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Age after which rows are folded, and the bucket they are folded into. */
export const DOWNSAMPLING: readonly { olderThanMs: number; bucketS: number }[] = [
  { olderThanMs: DAY_MS, bucketS: 300 },
  { olderThanMs: 7 * DAY_MS, bucketS: 3_600 },
];

// One bigint key: its space does not overlap the two-int keys of session-lock.ts; next to the migration lock's.
const DOWNSAMPLE_LOCK_KEY = 7_214_530_011;

export interface DownsampleResult {
  /** Rows written by each fold (one per bucket), in DOWNSAMPLING's order. */
  folded: { bucketS: number; rowsIn: number; rowsOut: number }[];
  deleted: number;
}

const mean = (column: string) => `sum(${column} * samples) / nullif(sum(samples) FILTER (WHERE ${column} IS NOT NULL), 0)`;
const last = (column: string) => `(array_agg(${column} ORDER BY at DESC) FILTER (WHERE ${column} IS NOT NULL))[1]`;

// Column by column, how a bucket is made of its rows. Names are this table's own, never input.
const FOLD = `
  WITH old AS (
    DELETE FROM history_samples WHERE bucket_s < $1 AND at < $2 RETURNING *
  ), folded AS (
    INSERT INTO history_samples (at, bucket_s, claimed_by, samples, error, max_connections, connections, connections_peak, active, idle,
                                 idle_in_transaction, commits, rollbacks, blocks_hit, blocks_read, counted_s, database_bytes,
                                 largest_tables, longest_transaction_s, locks_waiting, replication_lag_bytes)
    SELECT to_timestamp(floor(extract(epoch FROM at) / $1) * $1), $1, 'downsampled',
           sum(samples),
           CASE WHEN sum(samples) = 0 THEN ${last('error')} END,
           max(max_connections),
           ${mean('connections')}, max(connections_peak),
           ${mean('active')}, ${mean('idle')}, ${mean('idle_in_transaction')},
           sum(commits), sum(rollbacks), sum(blocks_hit), sum(blocks_read), sum(counted_s),
           ${last('database_bytes')}, ${last('largest_tables')},
           max(longest_transaction_s), max(locks_waiting), max(replication_lag_bytes)
      FROM old
     GROUP BY 1
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM old)::int AS rows_in, (SELECT count(*) FROM folded)::int AS rows_out`;

/** One pass; null when another replica is downsampling right now (it does the same work). */
export async function downsampleHistory(pool: pg.Pool, options: { now: Date; retentionMs: number }): Promise<DownsampleResult | null> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [DOWNSAMPLE_LOCK_KEY]);
    if (!rows[0]?.locked) {
      await client.query('ROLLBACK');
      return null;
    }
    const folded: DownsampleResult['folded'] = [];
    for (const { olderThanMs, bucketS } of DOWNSAMPLING) {
      // On a bucket boundary, so that a bucket is always folded whole, and once.
      const bucketMs = bucketS * 1000;
      const cutoff = new Date(Math.floor((options.now.getTime() - olderThanMs) / bucketMs) * bucketMs);
      const result = await client.query<{ rows_in: number; rows_out: number }>(FOLD, [bucketS, cutoff]);
      folded.push({ bucketS, rowsIn: result.rows[0]?.rows_in ?? 0, rowsOut: result.rows[0]?.rows_out ?? 0 });
    }
    const deleted = await client.query(`DELETE FROM history_samples WHERE at < $1`, [new Date(options.now.getTime() - options.retentionMs)]);
    await client.query('COMMIT');
    return { folded, deleted: deleted.rowCount ?? 0 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
