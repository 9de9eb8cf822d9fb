/**
 * Alertmanager's notifications, received: stored against the group's current episode (which says
 * whether anything is new), and each alert that started firing or resolved recorded through the
 * recorder, so it is in the audit log and, while an incident is open in the alerts channel, in its
 * timeline.
 *
 *   const stored = await receiveAlertNotification(services, notification); // before answering Alertmanager
 *   await recordAlertTransitions(services, stored);                        // after
 */
import type { Services } from '../context.js';
import { formatDuration } from '../duration.js';
import { formatTime } from '../format.js';
import type { AlertTransition } from '../ops/alertmanager/notification-changes.js';
import type { AlertNotification } from '../ops/alertmanager/webhook-payload.js';
import { storeAlertNotification, type AlertGroup, type StoredNotification } from '../state/alert-groups.js';
import type { RecordEntry } from '../state/recorder.js';
import { alertName, alertSeverity, alertTitle, firedForMs, labelText } from './alert-facts.js';

/** Who the audit log and timelines name for what Alertmanager reported. */
export const ALERTMANAGER_ACTOR = 'alertmanager';

export async function receiveAlertNotification(services: Services, notification: AlertNotification): Promise<StoredNotification> {
  const channel = services.config.alerts.channel;
  if (!channel) throw new Error('no channel for alerts (ALERTS_CHANNEL or OPS_CHANNEL)');
  const stored = await storeAlertNotification(services.state, { notification, channel });
  services.metrics.alertNotifications.inc({ outcome: stored.change.kind });
  return stored;
}

export async function recordAlertTransitions(services: Services, stored: StoredNotification): Promise<void> {
  const { change, group } = stored;
  if (change.kind !== 'new' && change.kind !== 'changed') return;
  for (const transition of change.transitions) await services.recorder.record(alertRecord(group, transition, services.now()));
}

/**
 * The record of one alert firing or resolving. Its source key makes it enter a timeline once,
 * however often (and through however many replicas) Alertmanager reports it.
 */
export function alertRecord(group: Pick<AlertGroup, 'channel' | 'groupKey'>, transition: AlertTransition, now: Date): RecordEntry {
  const { alert, status } = transition;
  const name = alertName(alert.labels);
  const labels = labelText(alert.labels);
  const what = `${alertTitle(alert)}${labels && alert.annotations.summary ? ` [${labels}]` : ''}`;
  const summary =
    status === 'firing'
      ? `alert ${name} is firing (${alertSeverity(alert)}): ${what}, since ${formatTime(new Date(alert.startsAt))}`
      : `alert ${name} resolved after ${formatDuration(firedForMs(alert, now))}: ${what}`;
  const at = status === 'firing' ? new Date(alert.startsAt) : alert.endsAt ? new Date(alert.endsAt) : undefined;
  return {
    actor: ALERTMANAGER_ACTOR,
    channel: group.channel,
    kind: status === 'firing' ? 'alert.firing' : 'alert.resolved',
    action: name,
    summary,
    details: { fingerprint: alert.fingerprint, labels: alert.labels, startsAt: alert.startsAt, endsAt: alert.endsAt, generatorURL: alert.generatorURL, groupKey: group.groupKey },
    sourceKey: `alert:${alert.fingerprint}:${alert.startsAt}:${status}`,
    at: at && Number.isFinite(at.getTime()) ? at : undefined,
  };
}
