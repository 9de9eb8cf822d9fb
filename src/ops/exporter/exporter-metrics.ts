/**
 * The figures the runbook's "Metrics Review" greps out of postgres_exporter's /metrics, read with
 * a real parser: pg_up, connections and commits of the operated database, its longest
 * transaction, its locks by mode, and the business metrics of custom queries.
 *
 *   const m = await readExporterMetrics({ url: 'http://recipe-database-service:9187/metrics', database: 'recipe_database',
 *                                         businessPrefixes: ['recipe_stats_', 'user_activity_'], timeoutMs: 2000 });
 *   // m.up → true, m.backends → 3, m.business → [{ name: 'recipe_stats_total_recipes', labels: {…}, value: 300 }]
 */
import { fetchMetricsText } from './fetch-metrics-text.js';
import { parsePrometheusText, type MetricFamily, type Sample } from './prometheus-text.js';

export interface BusinessMetric {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ExporterMetrics {
  /** pg_up: whether the exporter could reach PostgreSQL; null when the exporter does not say. */
  up: boolean | null;
  /** The datname the per-database figures below are for. */
  database: string;
  backends: number | null;
  commits: number | null;
  rollbacks: number | null;
  /** pg_stat_activity_max_tx_duration, the maximum over all states, in seconds. */
  longestTransactionSeconds: number | null;
  /** pg_locks_count of the database: the total and every mode holding at least one lock. */
  locks: { total: number; byMode: { mode: string; count: number }[] } | null;
  business: BusinessMetric[];
  /** pg_exporter_last_scrape_error: some query of the last scrape failed (its figures are missing). */
  scrapeError: boolean;
  /** pg_exporter_user_queries_load_error: a custom queries file could not be read. */
  customQueriesError: boolean;
  /** postgres_exporter_build_info's version, when present. */
  exporterVersion: string | null;
}

export interface ReadExporterOptions {
  url: string;
  database: string;
  /** Metric name prefixes of the custom queries worth showing (`recipe_stats_`). */
  businessPrefixes: string[];
  timeoutMs: number;
  signal?: AbortSignal;
}

export async function readExporterMetrics(options: ReadExporterOptions): Promise<ExporterMetrics> {
  const text = await fetchMetricsText(options.url, options.timeoutMs, options.signal);
  let families: MetricFamily[];
  try {
    families = parsePrometheusText(text);
  } catch (error) {
    throw new Error(`the exporter's answer is not Prometheus text (${error instanceof Error ? error.message : String(error)})`);
  }
  return summarizeExporterMetrics(families, options.database, options.businessPrefixes);
}

export function summarizeExporterMetrics(families: MetricFamily[], database: string, businessPrefixes: string[]): ExporterMetrics {
  const byName = new Map(families.map((f) => [f.name, f]));
  const samples = (name: string): Sample[] => byName.get(name)?.samples ?? [];
  const ofDatabase = (name: string): Sample[] => samples(name).filter((s) => s.labels.datname === database);
  const single = (name: string): number | null => {
    const values = ofDatabase(name).map((s) => s.value);
    return values.length === 0 ? null : values.reduce((a, b) => a + b, 0);
  };

  const up = samples('pg_up')[0];
  const txDurations = ofDatabase('pg_stat_activity_max_tx_duration').map((s) => s.value).filter((v) => !Number.isNaN(v));
  const lockSamples = ofDatabase('pg_locks_count');
  const byMode = new Map<string, number>();
  for (const s of lockSamples) byMode.set(s.labels.mode ?? 'unknown', (byMode.get(s.labels.mode ?? 'unknown') ?? 0) + s.value);
  const build = samples('postgres_exporter_build_info')[0];

  return {
    up: up === undefined ? null : up.value === 1,
    database,
    backends: single('pg_stat_database_numbackends'),
    commits: single('pg_stat_database_xact_commit'),
    rollbacks: single('pg_stat_database_xact_rollback'),
    longestTransactionSeconds: txDurations.length === 0 ? null : Math.max(...txDurations),
    locks:
      lockSamples.length === 0
        ? null
        : {
            total: [...byMode.values()].reduce((a, b) => a + b, 0),
            byMode: [...byMode].filter(([, count]) => count > 0).map(([mode, count]) => ({ mode, count })).sort((a, b) => b.count - a.count),
          },
    business: families
      .filter((f) => businessPrefixes.some((prefix) => f.name.startsWith(prefix)))
      .flatMap((f) => f.samples.map((s) => ({ name: s.name, labels: s.labels, value: s.value }))),
    scrapeError: samples('pg_exporter_last_scrape_error').some((s) => s.value === 1),
    customQueriesError: samples('pg_exporter_user_queries_load_error').some((s) => s.value === 1),
    exporterVersion: build?.labels.version ?? null,
  };
}
