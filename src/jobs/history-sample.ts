/**
 * One sample of the operated database's key figures, read through the same ops as `status` and
 * `sizes`. Commits, rollbacks and the block counters are cumulative in PostgreSQL: a sample keeps
 * them (for the next one) and stores what they grew by since the previous sample, whichever
 * replica took it, so rates and the cache hit are those of the interval, not of the server's life.
 *
 *   const figures = await takeHistorySample(services.db, await previousCounters(state, slot), new Date());
 */
import type pg from 'pg';
import { readServerStatus, type ServerStatus } from '../ops/postgres/server-status.js';
import { readRelationSizes, type TableSize } from '../ops/postgres/sizes.js';
import type { SampleCounters, SampleFigures } from '../state/history-samples.js';

export const LARGEST_TABLES = 10;

export async function takeHistorySample(db: pg.Pool, previous: SampleCounters | null, sampledAt: Date): Promise<SampleFigures> {
  const [status, sizes] = await Promise.all([readServerStatus(db), readRelationSizes(db, { schema: null }, LARGEST_TABLES)]);
  return sampleFigures(status, sizes.tables, previous, sampledAt);
}

export function sampleFigures(status: ServerStatus, largest: readonly TableSize[], previous: SampleCounters | null, sampledAt: Date): SampleFigures {
  const count = (match: (state: string) => boolean): number => status.connections.filter((c) => match(c.state)).reduce((sum, c) => sum + c.count, 0);
  const counters: SampleCounters = {
    commits: status.commits,
    rollbacks: status.rollbacks,
    blocksHit: status.blocksHit,
    blocksRead: status.blocksRead,
    countingSince: `${status.startedAt.toISOString()}|${status.statsResetAt?.toISOString() ?? ''}`,
    sampledAt: sampledAt.toISOString(),
  };
  const increases = increasesSince(previous, counters);
  const lags = status.replication.map((r) => r.lagBytes).filter((lag): lag is number => lag !== null);
  return {
    maxConnections: status.maxConnections,
    connections: status.totalConnections,
    active: count((s) => s === 'active'),
    idle: count((s) => s === 'idle'),
    idleInTransaction: count((s) => s.startsWith('idle in transaction')),
    ...increases,
    databaseBytes: status.databaseSizeBytes,
    largestTables: largest.slice(0, LARGEST_TABLES).map((t) => ({ schema: t.schema, table: t.table, bytes: t.totalBytes })),
    longestTransactionS: status.longestTransaction?.seconds ?? 0,
    locksWaiting: status.locks.waiting,
    replicationLagBytes: lags.length === 0 ? null : Math.max(...lags),
    counters,
  };
}

type Increases = Pick<SampleFigures, 'commits' | 'rollbacks' | 'blocksHit' | 'blocksRead' | 'countedS'>;

/** Null increases when they cannot be known: no previous sample, a restart or reset in between. */
function increasesSince(previous: SampleCounters | null, now: SampleCounters): Increases {
  const unknown: Increases = { commits: null, rollbacks: null, blocksHit: null, blocksRead: null, countedS: null };
  if (previous === null || previous.countingSince !== now.countingSince) return unknown;
  const seconds = (Date.parse(now.sampledAt) - Date.parse(previous.sampledAt)) / 1000;
  const grew = {
    commits: now.commits - previous.commits,
    rollbacks: now.rollbacks - previous.rollbacks,
    blocksHit: now.blocksHit - previous.blocksHit,
    blocksRead: now.blocksRead - previous.blocksRead,
  };
  if (!(seconds > 0) || Object.values(grew).some((n) => n < 0)) return unknown;
  return { ...grew, countedS: seconds };
}
