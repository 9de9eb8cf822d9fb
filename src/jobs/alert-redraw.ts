/**
 * Alert messages left behind: a version stored but not drawn, because Slack failed or the replica
 * drawing it died after answering Alertmanager. Every replica looks for them now and then and
 * hands them to the Slack app as notices; the drawing claim makes one replica draw each. With
 * ALERTMANAGER_URL set it also follows groups Alertmanager mutes (silenced, inhibited), which it
 * does not notify about, and those that resolved unseen (handlers/alert-muted-groups.ts).
 *
 *   const redraw = startAlertRedraw(services); // src/jobs/start-jobs.ts, when ALERTS_TOKEN is set
 *   redraw.stop();
 */
import type { Services } from '../context.js';
import { followMutedAlertGroups } from '../handlers/alert-muted-groups.js';
import { listAlertGroupsToDraw } from '../state/alert-groups.js';

export interface AlertRedraw {
  stop(): void;
}

export function startAlertRedraw(services: Services): AlertRedraw {
  const { config, log, notices } = services;
  const every = Math.min(15_000, Math.max(500, config.replicaTimeoutMs / 2));
  let running = false;
  const look = async () => {
    if (running) return;
    running = true;
    try {
      // Left alone while fresh: the replica that stored it is drawing it right now.
      const ids = await listAlertGroupsToDraw(services.state, { by: services.instance, replicaTimeoutMs: config.replicaTimeoutMs, changedBeforeMs: every });
      for (const groupId of ids) await notices.publish({ kind: 'alert-group-changed', groupId });
    } catch (error) {
      log.warn({ err: error }, 'could not look for alert messages to redraw');
    }
    try {
      const changed = await followMutedAlertGroups(services);
      for (const groupId of changed) await notices.publish({ kind: 'alert-group-changed', groupId });
    } catch (error) {
      log.warn({ err: error }, 'could not ask Alertmanager which alerts it mutes or no longer holds');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void look(), every);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
