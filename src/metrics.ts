/**
 * The bot's Prometheus metrics, on a registry of its own (one per process, so tests can start
 * several bots side by side).
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  commands: Counter<'command' | 'outcome'>;
  ackLatency: Histogram<'kind'>;
  approvals: Counter<'decision'>;
  backupDuration: Histogram<'trigger'>;
  backupSize: Histogram<'trigger'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'recipedb_ops_' });
  return {
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
  };
}
