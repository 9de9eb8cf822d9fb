/**
 * The bot's background jobs, started with its services (src/services.ts) whatever shows their
 * results: the heartbeat, the approval sweeper and, on Slack, the scheduled backups. What they
 * have to say goes out as notices (notices.ts).
 *
 *   const jobs = await startJobs(services); // … await jobs.stop();
 */
import type { Services } from '../context.js';
import { parseCronSchedule } from '../cron-schedule.js';
import { startApprovalSweeper } from './approval-sweeper.js';
import { startBackupScheduler } from './backup-scheduler.js';
import { startHeartbeat } from './heartbeat.js';
import { startAlertRedraw } from './alert-redraw.js';

export interface Jobs {
  stop(): Promise<void>;
}

export async function startJobs(services: Services): Promise<Jobs> {
  const { config, log, state } = services;
  // First, before anything can claim work in the state database.
  const heartbeat = await startHeartbeat(state, { instance: services.instance, everyMs: config.replicaTimeoutMs / 4, log });
  const sweeper = startApprovalSweeper(services);
  // Not on a laptop: the console never backs up behind its user's back.
  const scheduler =
    config.mode !== 'console' && config.backup.schedule !== 'off'
      ? startBackupScheduler(services, { schedule: parseCronSchedule(config.backup.schedule) })
      : undefined;
  // Alert messages exist only on Slack, and only with the webhook configured.
  const alertRedraw = config.mode !== 'console' && config.alerts.token ? startAlertRedraw(services) : undefined;
  return {
    async stop() {
      sweeper.stop();
      alertRedraw?.stop();
      await scheduler?.stop();
      // Last: leaving the replicas frees whatever this process still claims.
      await heartbeat.stop();
    },
  };
}
