/**
 * The sampled figures as chartable series: what each `chart <figure>` draws, in which unit, and
 * which of the status thresholds (STATUS_*) it is held against.
 *
 *   const chart = figureChart('connections', rows, config.thresholds);
 *   // { title: 'Connections', unit: 'connections', series: [...], thresholds: [{ value: 160, label: '80% of max_connections (160)' }], … }
 */
import type { ChartSeries, ChartThreshold } from '../charts/line-chart.js';
import type { Config } from '../config.js';
import { formatDuration } from '../duration.js';
import type { HistoryRow } from '../state/history-samples.js';

export const CHART_FIGURES = ['connections', 'tps', 'cache-hit', 'size', 'longest-tx', 'locks'] as const;
export type ChartFigure = (typeof CHART_FIGURES)[number];

export interface FigureChart {
  figure: ChartFigure;
  title: string;
  /** The y axis' unit, as printed after a value: "connections", "transactions/s", "%", "MB", "s". */
  unit: string;
  series: ChartSeries[];
  thresholds: ChartThreshold[];
  yFrom: 'zero' | 'data';
  yCeiling?: number;
  /** The first series' figures over the window, in the unit. */
  summary: { latest: number | null; min: number | null; max: number | null; mean: number | null; points: number };
}

type Thresholds = Config['thresholds'];
type Value = (row: HistoryRow) => number | null;

interface SeriesSpec {
  name: string;
  value: Value;
}

const rate = (count: (r: HistoryRow) => number | null): Value => (r) => {
  const n = count(r);
  return n === null || r.countedS === null || r.countedS <= 0 ? null : n / r.countedS;
};

const cacheHitPercent: Value = (r) => {
  if (r.blocksHit === null || r.blocksRead === null || r.blocksHit + r.blocksRead === 0) return null;
  return (100 * r.blocksHit) / (r.blocksHit + r.blocksRead);
};

const MB = 1024 ** 2;
const GB = 1024 ** 3;

export function figureChart(figure: ChartFigure, rows: readonly HistoryRow[], thresholds: Thresholds): FigureChart {
  const make = (title: string, unit: string, specs: SeriesSpec[], extra: Partial<Pick<FigureChart, 'thresholds' | 'yFrom' | 'yCeiling'>> = {}): FigureChart => {
    const series = specs.map((s) => ({ name: s.name, points: points(rows, s.value) })).filter((s, i) => i === 0 || s.points.some((p) => p[1] !== null));
    return { figure, title, unit, series, thresholds: extra.thresholds ?? [], yFrom: extra.yFrom ?? 'zero', yCeiling: extra.yCeiling, summary: summarize(series[0]) };
  };
  switch (figure) {
    case 'connections': {
      const max = [...rows].reverse().find((r) => r.maxConnections !== null)?.maxConnections ?? null;
      const limit = max === null ? null : Math.floor((max * thresholds.connectionsMaxPercent) / 100);
      // A folded row's mean hides its spikes: its peak is drawn too, once the window reaches folded rows.
      const folded = rows.some((r) => r.samples > 1);
      return make('Connections', 'connections', [
        { name: folded ? 'total (mean)' : 'total', value: (r) => r.connections },
        ...(folded ? [{ name: 'total (peak)', value: (r: HistoryRow) => r.connectionsPeak }] : []),
        { name: 'active', value: (r) => r.active },
        { name: 'idle in transaction', value: (r) => r.idleInTransaction },
      ], { thresholds: limit === null ? [] : [{ value: limit, label: `${thresholds.connectionsMaxPercent}% of max_connections (${limit} of ${max})` }] });
    }
    case 'tps':
      return make('Transactions per second', 'transactions/s', [
        { name: 'commits', value: rate((r) => r.commits) },
        { name: 'rollbacks', value: rate((r) => r.rollbacks) },
      ]);
    case 'cache-hit':
      return make('Cache hit (block reads served from shared buffers)', '%', [{ name: 'cache hit', value: cacheHitPercent }], {
        thresholds: [{ value: thresholds.cacheHitMinPercent, label: `minimum ${thresholds.cacheHitMinPercent}% (STATUS_CACHE_HIT_MIN_PERCENT)` }],
        yFrom: 'data',
        yCeiling: 100,
      });
    case 'size': {
      const largest = Math.max(0, ...rows.map((r) => r.databaseBytes ?? 0));
      const [unit, scale] = largest >= 10 * GB ? ['GiB', GB] : ['MiB', MB];
      return make('Database size', unit, [{ name: 'database', value: (r) => (r.databaseBytes === null ? null : r.databaseBytes / scale) }], { yFrom: 'data' });
    }
    case 'longest-tx': {
      const worst = Math.max(0, thresholds.longTransactionMs / 1000, ...rows.map((r) => r.longestTransactionS ?? 0));
      const [unit, scale] = worst >= 1_200 ? ['min', 60] : ['s', 1];
      return make('Longest open transaction', unit, [{ name: 'longest transaction', value: (r) => (r.longestTransactionS === null ? null : r.longestTransactionS / scale) }], {
        thresholds: [{ value: thresholds.longTransactionMs / 1000 / scale, label: `STATUS_LONG_TRANSACTION (${formatDuration(thresholds.longTransactionMs)})` }],
      });
    }
    case 'locks':
      return make('Locks waiting', 'locks waiting', [{ name: 'locks waiting', value: (r) => r.locksWaiting }]);
  }
}

/**
 * One point per row, at the middle of what a folded row covers; a gap (no sample for more than
 * two and a half rows' time: no replica ran, or the database did not answer) breaks the line.
 */
function points(rows: readonly HistoryRow[], value: Value): [number, number | null][] {
  const out: [number, number | null][] = [];
  let previous: HistoryRow | undefined;
  for (const row of rows) {
    const at = row.at.getTime() + (row.samples > 1 ? row.bucketS * 500 : 0);
    if (previous && row.at.getTime() - previous.at.getTime() > 2.5 * Math.max(row.bucketS, previous.bucketS) * 1000) {
      out.push([previous.at.getTime() + previous.bucketS * 1000, null]);
    }
    const v = value(row);
    out.push([at, v === null || !Number.isFinite(v) ? null : v]);
    previous = row;
  }
  return out;
}

function summarize(series: ChartSeries | undefined): FigureChart['summary'] {
  const values = (series?.points ?? []).map((p) => p[1]).filter((v): v is number => v !== null);
  if (values.length === 0) return { latest: null, min: null, max: null, mean: null, points: 0 };
  return {
    latest: values.at(-1) ?? null,
    min: Math.min(...values),
    max: Math.max(...values),
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    points: values.length,
  };
}
