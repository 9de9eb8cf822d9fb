/**
 * The small trends `status` shows next to its figures, from the sampled history:
 * "182 / 200, +40 in 15 min", "1.2 GiB, +120 MiB in 24 h". A trend is left out when the history has
 * no sample near enough to the moment it compares with (sampling off, the bot just started).
 *
 *   const trend = statusTrend(await readTrendSamples(state, now), status, now);
 */
import type pg from 'pg';
import type { ServerStatus } from '../ops/postgres/server-status.js';
import { HOUR_MS } from '../state/history-downsample.js';
import { sampleAtOrBefore, type HistoryRow } from '../state/history-samples.js';

export interface StatusTrend {
  connections: { delta: number; minutes: number } | null;
  size: { deltaBytes: number; hours: number } | null;
}

export interface TrendSamples {
  connections: HistoryRow | null;
  size: HistoryRow | null;
}

const CONNECTIONS_AGO_MS = 15 * 60_000;
const SIZE_AGO_MS = 24 * HOUR_MS;

/** Samples from 15 minutes and a day ago, each accepted a little older than that (a missed slot, a folded row). */
export async function readTrendSamples(state: pg.Pool, now: Date): Promise<TrendSamples> {
  const [connections, size] = await Promise.all([
    sampleAtOrBefore(state, new Date(now.getTime() - CONNECTIONS_AGO_MS)),
    sampleAtOrBefore(state, new Date(now.getTime() - SIZE_AGO_MS)),
  ]);
  const near = (row: HistoryRow | null, agoMs: number, slackMs: number) => (row !== null && now.getTime() - row.at.getTime() <= agoMs + slackMs ? row : null);
  return { connections: near(connections, CONNECTIONS_AGO_MS, 10 * 60_000), size: near(size, SIZE_AGO_MS, 2 * HOUR_MS) };
}

export function statusTrend(samples: TrendSamples, status: ServerStatus, now: Date): StatusTrend {
  const minutesAgo = (row: HistoryRow) => Math.round((now.getTime() - row.at.getTime()) / 60_000);
  const c = samples.connections;
  const s = samples.size;
  return {
    // A folded row stands for many samples: its peak is no "then"; its mean is.
    connections: c?.connections != null ? { delta: Math.round(status.totalConnections - c.connections), minutes: minutesAgo(c) } : null,
    size: s?.databaseBytes != null ? { deltaBytes: status.databaseSizeBytes - s.databaseBytes, hours: Math.round(minutesAgo(s) / 60) } : null,
  };
}
