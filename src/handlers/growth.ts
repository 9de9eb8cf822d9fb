/**
 * `growth [--since D]`: the runbook's "Check Database Size Growth" with the history it lacked —
 * the database and its ten largest tables now, against a day, a week and a month ago (or the
 * oldest sample), their growth per day, and when the data volume fills at that rate.
 */
import { z } from 'zod';
import { readVolumeClaim, type VolumeClaim } from '../ops/kube/volume-claim.js';
import { readRelationSizes, readServerDiskUse, type ServerDiskUse } from '../ops/postgres/sizes.js';
import { DAY_MS, HOUR_MS } from '../state/history-downsample.js';
import { oldestSample, sampleAtOrBefore, type HistoryRow } from '../state/history-samples.js';
import { defineHandler } from './handler.js';
import { noWords, onlyFlags } from './args.js';
import { sinceFlag } from './history-window.js';
import { readSource, type SourceResult } from './status.js';
import { formatDuration } from '../duration.js';

export interface GrowthPoint {
  /** "1 day ago", "7 days ago", "the oldest sample (3d 4h ago)". */
  label: string;
  at: Date;
  databaseBytes: number;
  /** This point is the oldest sample, standing in for an age the history does not reach. */
  oldest: boolean;
  /** The largest tables of that sample, by "schema.table". */
  tables: Record<string, number>;
}

export interface TableGrowth {
  schema: string;
  table: string;
  nowBytes: number;
  /** Aligned with `points`: null when the table was not among that sample's ten largest. */
  thenBytes: (number | null)[];
  perDayBytes: number | null;
}

export type VolumeOutlook =
  | { kind: 'not-configured' }
  | { kind: 'unavailable'; reason: string }
  | {
      kind: 'known';
      claim: VolumeClaim;
      /** What was provisioned (status), else what was asked for (spec), as `kubectl get pvc` shows them. */
      capacity: string;
      capacityBytes: number;
      used: ServerDiskUse;
      usedBytes: number;
      freeBytes: number;
      /** null: not growing. */
      fullInMs: number | null;
    };

export interface GrowthResult {
  measuredAt: Date;
  database: string;
  nowBytes: number;
  points: GrowthPoint[];
  /** What growth per day is taken over; null without history old enough (an hour at least). */
  baseline: GrowthPoint | null;
  perDayBytes: number | null;
  tables: TableGrowth[];
  volume: VolumeOutlook;
  samplingOff: boolean;
}

const AGES = [
  { ms: DAY_MS, label: '1 day ago' },
  { ms: 7 * DAY_MS, label: '7 days ago' },
  { ms: 30 * DAY_MS, label: '30 days ago' },
];
/** Growth per day over less than this is noise (a vacuum, a bulk load in progress). */
const MIN_BASELINE_MS = HOUR_MS;

const growthArgs = z
  .object({
    positional: noWords('takes no arguments, only --since D'),
    flags: onlyFlags({ since: sinceFlag }, (flag) => `has no option --${flag} (only --since D)`),
  })
  .transform((raw) => ({ sinceMs: raw.flags.since?.ms ?? null }));

export const growthHandler = defineHandler({
  name: 'growth',
  usage: 'growth [--since D]',
  summary: 'database and table size now against a day, a week and a month ago; growth per day; when the volume fills',
  args: growthArgs,
  async run({ sinceMs }, ctx): Promise<GrowthResult> {
    const now = ctx.now();
    const { kube } = ctx;
    const { sourceMs } = ctx.config.timeouts;
    const ages = [...AGES, ...(sinceMs !== null && !AGES.some((a) => a.ms === sinceMs) ? [{ ms: sinceMs, label: `${formatDuration(sinceMs)} ago (--since)` }] : [])].sort((a, b) => a.ms - b.ms);
    const [sizes, oldest, samples, claim, disk] = await Promise.all([
      readRelationSizes(ctx.db, { schema: null }, 10),
      oldestSample(ctx.state),
      Promise.all(ages.map((age) => sampleAtOrBefore(ctx.state, new Date(now.getTime() - age.ms)))),
      kube === null
        ? null
        : readSource('Kubernetes', sourceMs, () => readVolumeClaim(kube, { namespace: ctx.config.database.namespace, pvc: ctx.config.database.pvc }, AbortSignal.timeout(sourceMs + 250))),
      readSource('PostgreSQL', sourceMs, () => readServerDiskUse(ctx.db)),
    ]);

    const points: GrowthPoint[] = [];
    const pointFor = new Map<number, GrowthPoint>();
    ages.forEach((age, i) => {
      const row = samples[i] ?? (oldest !== null && oldest.at.getTime() > now.getTime() - age.ms ? oldest : null);
      if (row === null || row.databaseBytes === null) return;
      const isOldest = samples[i] === null;
      const existing = points.find((p) => p.at.getTime() === row.at.getTime());
      if (existing) {
        pointFor.set(age.ms, existing);
        return;
      }
      const point = toPoint(row, isOldest ? `the oldest sample (${formatDuration(now.getTime() - row.at.getTime())} ago)` : age.label, isOldest);
      points.push(point);
      pointFor.set(age.ms, point);
    });

    // Growth per day over --since, else over a week (or as far back as the history goes, if shorter).
    const baselineCandidate = pointFor.get(sinceMs ?? 7 * DAY_MS) ?? points.at(-1) ?? null;
    const baseline = baselineCandidate !== null && now.getTime() - baselineCandidate.at.getTime() >= MIN_BASELINE_MS ? baselineCandidate : null;
    const days = baseline === null ? null : (now.getTime() - baseline.at.getTime()) / DAY_MS;
    const perDay = (nowBytes: number, then: number | null | undefined): number | null => (days === null || then === null || then === undefined ? null : (nowBytes - then) / days);

    const tables: TableGrowth[] = sizes.tables.map((t) => {
      const key = `${t.schema}.${t.table}`;
      return {
        schema: t.schema,
        table: t.table,
        nowBytes: t.totalBytes,
        thenBytes: points.map((p) => p.tables[key] ?? null),
        perDayBytes: perDay(t.totalBytes, baseline?.tables[key]),
      };
    });
    const perDayBytes = perDay(sizes.databaseBytes, baseline?.databaseBytes);
    return {
      measuredAt: now,
      database: sizes.database,
      nowBytes: sizes.databaseBytes,
      points,
      baseline,
      perDayBytes,
      tables,
      volume: outlook(claim, disk, perDayBytes),
      samplingOff: ctx.config.history.intervalMs === null,
    };
  },
});

function toPoint(row: HistoryRow, label: string, oldest: boolean): GrowthPoint {
  return {
    label,
    at: row.at,
    databaseBytes: row.databaseBytes ?? 0,
    oldest,
    tables: Object.fromEntries((row.largestTables ?? []).map((t) => [`${t.schema}.${t.table}`, t.bytes])),
  };
}

function outlook(claim: SourceResult<VolumeClaim> | null, disk: SourceResult<ServerDiskUse>, perDayBytes: number | null): VolumeOutlook {
  if (claim === null) return { kind: 'not-configured' };
  if (!claim.ok) return { kind: 'unavailable', reason: claim.reason };
  const c = claim.data;
  const provisioned = c.capacityBytes !== null;
  const capacity = provisioned ? c.capacity : c.requested;
  const capacityBytes = provisioned ? c.capacityBytes : c.requestedBytes;
  if (capacity === null || capacityBytes === null) return { kind: 'unavailable', reason: `the volume claim ${c.namespace}/${c.name} states no storage size` };
  if (!disk.ok) return { kind: 'unavailable', reason: `what the volume holds could not be read: ${disk.reason}` };
  const usedBytes = disk.data.databasesBytes + (disk.data.walBytes ?? 0);
  const freeBytes = Math.max(0, capacityBytes - usedBytes);
  const fullInMs = perDayBytes !== null && perDayBytes > 0 ? (freeBytes / perDayBytes) * DAY_MS : null;
  return { kind: 'known', claim: c, capacity, capacityBytes, used: disk.data, usedBytes, freeBytes, fullInMs };
}
