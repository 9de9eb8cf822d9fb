/**
 * The bot's background jobs, started with its services (src/services.ts) whatever shows their
 * results: the heartbeat, the approval sweeper, the scale-back of applications a dead replica left
 * at 0, the sweep of leftover scratch databases, the history sampler and, on Slack, the scheduled
 * backups and the alert redraw. What they have to say goes out as notices (notices.ts).
 *
 *   const jobs = await startJobs(services); // … await jobs.stop();
 */
import type { Services } from '../context.js';
import { parseCronSchedule } from '../cron-schedule.js';
import { startApprovalSweeper } from './approval-sweeper.js';
import { startBackupScheduler } from './backup-scheduler.js';
import { startHeartbeat } from './heartbeat.js';
import { startHistorySampler } from './history-sampler.js';
import { startAlertRedraw } from './alert-redraw.js';
import { startAppScaleRecovery } from './app-scale-recovery.js';
import { sweepScratchDatabases } from '../handlers/verify-now.js';
import { startPitrBackupScheduler } from './pitr-backup-scheduler.js';
import { startMaintenanceRunSweep } from './maintenance-run-sweep.js';

export interface Jobs {
  stop(): Promise<void>;
}

export async function startJobs(services: Services): Promise<Jobs> {
  const { config, log, state } = services;
  // First, before anything can claim work in the state database.
  const heartbeat = await startHeartbeat(state, { instance: services.instance, everyMs: config.replicaTimeoutMs / 4, log });
  const sweeper = startApprovalSweeper(services);
  // An application a dead replica's restore left at 0 is scaled back, now and whenever it happens.
  const appRecovery = startAppScaleRecovery(services);
  // A maintenance run a dead replica left "running" is finished and reported.
  const maintenanceSweep = startMaintenanceRunSweep(services);
  // Scratch databases an interrupted `backup verify` left on the database server.
  void sweepScratchDatabases(services).catch((error: unknown) => log.warn({ err: error }, 'could not look for leftover scratch databases'));
  // Not on a laptop: the console never backs up behind its user's back.
  const scheduler =
    config.mode !== 'console' && config.backup.schedule !== 'off'
      ? startBackupScheduler(services, { schedule: parseCronSchedule(config.backup.schedule) })
      : undefined;
  const pitrScheduler =
    config.mode !== 'console' && services.pitr && config.pitr && config.pitr.schedule !== 'off'
      ? startPitrBackupScheduler(services, services.pitr, { schedule: parseCronSchedule(config.pitr.schedule), fullBackupIntervalMs: config.pitr.fullBackupIntervalMs })
      : undefined;
  // Alert messages exist only on Slack, and only with the webhook configured.
  const alertRedraw = config.mode !== 'console' && config.alerts.token ? startAlertRedraw(services) : undefined;
  // In every mode, the console too: a sample is a dozen catalog reads a minute, and the console's
  // embedded state database keeps them (.local/postgres), so `growth` and `chart` work there as well.
  const intervalMs = config.history.intervalMs;
  const history = intervalMs === null ? undefined : startHistorySampler(services, { intervalMs });
  return {
    async stop() {
      sweeper.stop();
      alertRedraw?.stop();
      appRecovery.stop();
      maintenanceSweep.stop();
      await history?.stop();
      await scheduler?.stop();
      await pitrScheduler?.stop();
      // Last: leaving the replicas frees whatever this process still claims.
      await heartbeat.stop();
    },
  };
}
