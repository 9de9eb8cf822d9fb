/**
 * Synthetic history in a state database, written the way the sampler writes it (one row per slot,
 * claimed, with figures), for tests of what reads it: growth, chart, the status trend, the Home tab.
 *
 *   await seedHistory(services.state, [{ at: minutesAgo(15), connections: 12, databaseBytes: 9_000_000 }]);
 */
import type pg from 'pg';
import type { TableBytes } from '../../src/state/history-samples.js';

export interface SeedSample {
  at: Date;
  bucketS?: number;
  samples?: number;
  maxConnections?: number;
  connections?: number;
  connectionsPeak?: number;
  active?: number;
  idle?: number;
  idleInTransaction?: number;
  commits?: number;
  rollbacks?: number;
  blocksHit?: number;
  blocksRead?: number;
  countedS?: number;
  databaseBytes?: number;
  largestTables?: TableBytes[];
  longestTransactionS?: number;
  locksWaiting?: number;
}

export async function seedHistory(pool: pg.Pool, samples: readonly SeedSample[]): Promise<void> {
  const rows = samples.map((s) => ({
    at: s.at.toISOString(),
    bucket_s: s.bucketS ?? 60,
    claimed_by: 'seed',
    samples: s.samples ?? 1,
    max_connections: s.maxConnections ?? 100,
    connections: s.connections ?? 5,
    connections_peak: s.connectionsPeak ?? s.connections ?? 5,
    active: s.active ?? 1,
    idle: s.idle ?? 4,
    idle_in_transaction: s.idleInTransaction ?? 0,
    commits: s.commits ?? 600,
    rollbacks: s.rollbacks ?? 6,
    blocks_hit: s.blocksHit ?? 99_000,
    blocks_read: s.blocksRead ?? 1_000,
    counted_s: s.countedS ?? s.bucketS ?? 60,
    database_bytes: s.databaseBytes ?? 10_000_000,
    largest_tables: s.largestTables ?? [],
    longest_transaction_s: s.longestTransactionS ?? 0,
    locks_waiting: s.locksWaiting ?? 0,
  }));
  await pool.query(
    `INSERT INTO history_samples (at, bucket_s, claimed_by, samples, max_connections, connections, connections_peak, active, idle,
                                  idle_in_transaction, commits, rollbacks, blocks_hit, blocks_read, counted_s, database_bytes,
                                  largest_tables, longest_transaction_s, locks_waiting)
     SELECT at, bucket_s, claimed_by, samples, max_connections, connections, connections_peak, active, idle, idle_in_transaction,
            commits, rollbacks, blocks_hit, blocks_read, counted_s, database_bytes, largest_tables, longest_transaction_s, locks_waiting
       FROM jsonb_to_recordset($1::jsonb) AS r(at timestamptz, bucket_s int, claimed_by text, samples int, max_connections int,
            connections real, connections_peak int, active real, idle real, idle_in_transaction real, commits bigint, rollbacks bigint,
            blocks_hit bigint, blocks_read bigint, counted_s real, database_bytes bigint, largest_tables jsonb,
            longest_transaction_s real, locks_waiting int)`,
    [JSON.stringify(rows)],
  );
}

/** A time this long before `from` (default now), on a whole minute. */
export function ago(ms: number, from = new Date()): Date {
  return new Date(Math.floor((from.getTime() - ms) / 60_000) * 60_000);
}

/**
 * 30 days at 1 minute (43,200 raw samples, each with its ten largest tables), ending at `end`, in
 * one statement: the table's size before downsampling, as the README states it.
 */
export async function seedThirtyDaysAtOneMinute(pool: pg.Pool, end: Date): Promise<void> {
  await pool.query(
    `INSERT INTO history_samples (at, bucket_s, claimed_by, samples, max_connections, connections, connections_peak, active, idle,
                                    idle_in_transaction, commits, rollbacks, blocks_hit, blocks_read, counted_s, database_bytes,
                                    largest_tables, longest_transaction_s, locks_waiting, counters)
       SELECT $1::timestamptz - make_interval(mins => i), 60, 'recipedb-ops-7f9c8d6b5-x2k4q:1:abcdef', 1, 200, 50 + i % 30, 50 + i % 30, 5, 40, 1,
              1000 + i % 100, i % 5, 500000, 300, 60, 5000000000 + i * 1000,
              (SELECT jsonb_agg(jsonb_build_object('schema', 'recipe_manager', 'table', 'table_number_' || t, 'bytes', 100000000 * t + i)) FROM generate_series(1, 10) t),
              i % 17, 0,
              jsonb_build_object('commits', 123456789 + i, 'rollbacks', 1234 + i, 'blocksHit', 987654321 + i, 'blocksRead', 12345 + i,
                                 'countingSince', '2026-01-01T00:00:00.000Z|', 'sampledAt', '2026-01-10T12:00:00.000Z')
         FROM generate_series(1, 43200) i`,
    [end],
  );
}
