/**
 * The history of the operated database's key figures, in the state database (SPEC section 13).
 * Each HISTORY_INTERVAL slot is one row, claimed like a backup slot with one `INSERT … ON
 * CONFLICT DO NOTHING`: the replica whose insert wins samples it, every other replica sees it
 * taken, so a slot is sampled once however many replicas run.
 *
 *   if (await claimHistorySlot(pool, { slot, bucketS: 60, claimedBy: instance })) {
 *     await recordSample(pool, slot, figures); // or recordSampleFailure(pool, slot, 'the database did not answer')
 *   }
 *   const rows = await readHistory(pool, { from, to }); // oldest first, raw and downsampled rows alike
 *
 * Folding old rows into 5-minute and hourly ones is history-downsample.ts.
 */
import type pg from 'pg';

export interface TableBytes {
  schema: string;
  table: string;
  bytes: number;
}

/** Cumulative counters of pg_stat_database, kept to take the next sample's increases from. */
export interface SampleCounters {
  commits: number;
  rollbacks: number;
  blocksHit: number;
  blocksRead: number;
  /** When these counters started counting (server start, or the last stats reset): a change means they restarted from 0. */
  countingSince: string;
  sampledAt: string;
}

/** One sample, as taken (jobs/history-sample.ts). Increases are null when there is nothing to take them from. */
export interface SampleFigures {
  maxConnections: number;
  connections: number;
  active: number;
  idle: number;
  idleInTransaction: number;
  commits: number | null;
  rollbacks: number | null;
  blocksHit: number | null;
  blocksRead: number | null;
  countedS: number | null;
  databaseBytes: number;
  largestTables: TableBytes[];
  longestTransactionS: number;
  locksWaiting: number;
  replicationLagBytes: number | null;
  counters: SampleCounters;
}

/** A row as readers see it: one sample, or the aggregate of several (bucketS > the interval). */
export interface HistoryRow {
  at: Date;
  bucketS: number;
  samples: number;
  error: string | null;
  maxConnections: number | null;
  /** Mean over the row. */
  connections: number | null;
  connectionsPeak: number | null;
  active: number | null;
  idle: number | null;
  idleInTransaction: number | null;
  commits: number | null;
  rollbacks: number | null;
  blocksHit: number | null;
  blocksRead: number | null;
  countedS: number | null;
  /** The last seen in the row. */
  databaseBytes: number | null;
  largestTables: TableBytes[] | null;
  /** The worst seen in the row. */
  longestTransactionS: number | null;
  locksWaiting: number | null;
  replicationLagBytes: number | null;
}

interface Row {
  at: Date;
  bucket_s: number;
  samples: number;
  error: string | null;
  max_connections: number | null;
  connections: number | null;
  connections_peak: number | null;
  active: number | null;
  idle: number | null;
  idle_in_transaction: number | null;
  commits: string | null;
  rollbacks: string | null;
  blocks_hit: string | null;
  blocks_read: string | null;
  counted_s: number | null;
  database_bytes: string | null;
  largest_tables: TableBytes[] | null;
  longest_transaction_s: number | null;
  locks_waiting: number | null;
  replication_lag_bytes: string | null;
}

const num = (v: string | null): number | null => (v === null ? null : Number(v));

const fromRow = (r: Row): HistoryRow => ({
  at: r.at,
  bucketS: r.bucket_s,
  samples: r.samples,
  error: r.error,
  maxConnections: r.max_connections,
  connections: r.connections,
  connectionsPeak: r.connections_peak,
  active: r.active,
  idle: r.idle,
  idleInTransaction: r.idle_in_transaction,
  commits: num(r.commits),
  rollbacks: num(r.rollbacks),
  blocksHit: num(r.blocks_hit),
  blocksRead: num(r.blocks_read),
  countedS: r.counted_s,
  databaseBytes: num(r.database_bytes),
  largestTables: r.largest_tables,
  longestTransactionS: r.longest_transaction_s,
  locksWaiting: r.locks_waiting,
  replicationLagBytes: num(r.replication_lag_bytes),
});

const COLUMNS = `at, bucket_s, samples, error, max_connections, connections, connections_peak, active, idle, idle_in_transaction,
  commits, rollbacks, blocks_hit, blocks_read, counted_s, database_bytes, largest_tables, longest_transaction_s, locks_waiting,
  replication_lag_bytes`;

/** True when this caller won the slot and is to sample it. */
export async function claimHistorySlot(pool: pg.Pool, claim: { slot: Date; bucketS: number; claimedBy: string }): Promise<boolean> {
  const { rowCount } = await pool.query(
    `INSERT INTO history_samples (at, bucket_s, claimed_by) VALUES ($1, $2, $3) ON CONFLICT (at) DO NOTHING`,
    [claim.slot, claim.bucketS, claim.claimedBy],
  );
  return rowCount === 1;
}

/** The counters of the newest sample before `slot`, to take this sample's increases from. */
export async function previousCounters(pool: pg.Pool, slot: Date): Promise<SampleCounters | null> {
  const { rows } = await pool.query<{ counters: SampleCounters }>(
    `SELECT counters FROM history_samples WHERE at < $1 AND counters IS NOT NULL ORDER BY at DESC LIMIT 1`,
    [slot],
  );
  return rows[0]?.counters ?? null;
}

export async function recordSample(pool: pg.Pool, slot: Date, f: SampleFigures): Promise<void> {
  await pool.query(
    `UPDATE history_samples
        SET samples = 1, error = NULL, max_connections = $2, connections = $3, connections_peak = $18, active = $4, idle = $5,
            idle_in_transaction = $6, commits = $7, rollbacks = $8, blocks_hit = $9, blocks_read = $10, counted_s = $11,
            database_bytes = $12, largest_tables = $13::jsonb, longest_transaction_s = $14, locks_waiting = $15,
            replication_lag_bytes = $16, counters = $17::jsonb
      WHERE at = $1`,
    [
      slot, f.maxConnections, f.connections, f.active, f.idle, f.idleInTransaction, f.commits, f.rollbacks, f.blocksHit, f.blocksRead,
      f.countedS, f.databaseBytes, JSON.stringify(f.largestTables), f.longestTransactionS, f.locksWaiting, f.replicationLagBytes,
      JSON.stringify(f.counters), f.connections,
    ],
  );
}

/** A slot whose sample failed keeps the reason: a gap in the history that says why. */
export async function recordSampleFailure(pool: pg.Pool, slot: Date, reason: string): Promise<void> {
  await pool.query(`UPDATE history_samples SET error = $2 WHERE at = $1`, [slot, reason.slice(0, 500)]);
}

/** Rows with figures from `from` to `to` (inclusive), oldest first. */
export async function readHistory(pool: pg.Pool, window: { from: Date; to: Date }): Promise<HistoryRow[]> {
  const { rows } = await pool.query<Row>(
    `SELECT ${COLUMNS} FROM history_samples WHERE at >= $1 AND at <= $2 AND samples > 0 ORDER BY at`,
    [window.from, window.to],
  );
  return rows.map(fromRow);
}

/** The newest row with figures at or before `at`. */
export async function sampleAtOrBefore(pool: pg.Pool, at: Date): Promise<HistoryRow | null> {
  const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM history_samples WHERE at <= $1 AND samples > 0 ORDER BY at DESC LIMIT 1`, [at]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/** The oldest row with figures (how far back the history goes). */
export async function oldestSample(pool: pg.Pool): Promise<HistoryRow | null> {
  const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM history_samples WHERE samples > 0 ORDER BY at LIMIT 1`);
  return rows[0] ? fromRow(rows[0]) : null;
}
