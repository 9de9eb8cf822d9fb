/**
 * The bot's Prometheus metrics, on a registry of its own (one per process, so tests can start
 * several bots side by side).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  commands: Counter<'command' | 'outcome'>;
  ackLatency: Histogram<'kind'>;
  approvals: Counter<'decision'>;
  backupDuration: Histogram<'trigger'>;
  backupSize: Histogram<'trigger'>;
  backupFailures: Counter<'trigger'>;
  alertNotifications: Counter<'outcome'>;
}

export interface MetricsSources {
  /** When the newest backup the bot wrote (recorded in the state database, still in BACKUP_DIR) was taken; null when there is none (the gauge is then 0, so an age alert fires). */
  newestBackup?: () => Promise<Date | null>;
}

export function createMetrics(sources: MetricsSources = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'recipedb_ops_' });
  const newestBackup = sources.newestBackup;
  if (newestBackup !== undefined) {
    // Read at every scrape (the state database's records, the folder), not remembered: it survives
    // restarts, and every replica reports the same value, whichever of them took the backup.
    new Gauge({
      name: 'recipedb_ops_backup_last_success_timestamp_seconds',
      help: 'When the newest backup the bot wrote (and still finds in BACKUP_DIR) was taken (Unix time); 0 when there is none',
      registers: [registry],
      async collect() {
        const newest = await newestBackup().catch(() => null);
        this.set(newest ? newest.getTime() / 1000 : 0);
      },
    });
  }
  const metrics: Metrics = {
    registry,
    commands: new Counter({
      name: 'recipedb_ops_commands_total',
      help: 'Slash commands by name and outcome (ok, usage, refused, failed)',
      labelNames: ['command', 'outcome'],
      registers: [registry],
    }),
    ackLatency: new Histogram({
      name: 'recipedb_ops_ack_latency_seconds',
      help: 'Time from receiving a Slack request to acknowledging it',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    approvals: new Counter({
      name: 'recipedb_ops_approvals_total',
      help: 'Approval requests by decision (requested, approved, rejected, expired, cancelled)',
      labelNames: ['decision'],
      registers: [registry],
    }),
    backupDuration: new Histogram({
      name: 'recipedb_ops_backup_duration_seconds',
      help: 'Duration of backups',
      labelNames: ['trigger'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry],
    }),
    backupSize: new Histogram({
      name: 'recipedb_ops_backup_size_bytes',
      help: 'Size of backup files',
      labelNames: ['trigger'],
      buckets: [1e6, 1e7, 1e8, 5e8, 1e9, 5e9, 1e10],
      registers: [registry],
    }),
    backupFailures: new Counter({
      name: 'recipedb_ops_backup_failures_total',
      help: 'Backups that failed, by trigger (manual, schedule, restore)',
      labelNames: ['trigger'],
      registers: [registry],
    }),
    alertNotifications: new Counter({
      name: 'recipedb_ops_alert_notifications_total',
      help: 'Alertmanager notifications received on /alerts, by outcome (new, changed, repeat, stale, unauthorized, invalid, too_large, failed)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
  // A labelled counter appears only with its first increment, which increase() cannot see: the
  // failures an alert watches start at zero.
  for (const trigger of ['manual', 'schedule', 'restore']) metrics.backupFailures.inc({ trigger }, 0);
  return metrics;
}
