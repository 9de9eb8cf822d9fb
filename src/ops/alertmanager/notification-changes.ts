/**
 * What a notification changes against the last one stored for its group, decided without any I/O:
 * a repeat (repeat_interval, an HA peer's copy, a retry) has the same digest and changes nothing;
 * a change lists the alerts that started firing or resolved; a firing notification for a group
 * that had resolved is a new episode (a new message), unless it only repeats alerts already seen
 * resolved (a late copy), which is stale.
 *
 *   compareNotifications(previous, incoming) // { kind: 'changed', transitions: [{ status: 'resolved', alert }] }
 */
import { createHash } from 'node:crypto';
import type { AlertNotification, NotifiedAlert } from './webhook-payload.js';

export interface AlertTransition {
  status: 'firing' | 'resolved';
  alert: NotifiedAlert;
}

export type NotificationChange =
  | { kind: 'new'; transitions: AlertTransition[] }
  | { kind: 'changed'; transitions: AlertTransition[] }
  | { kind: 'repeat' }
  | { kind: 'stale' };

const sortedEntries = (record: Record<string, string>): [string, string][] => Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** The content a message shows, hashed: the same alerts in the same states give the same digest. */
export function notificationDigest(notification: AlertNotification): string {
  const alerts = [...notification.alerts]
    .sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0))
    .map((a) => [a.fingerprint, a.status, a.startsAt, a.endsAt, sortedEntries(a.labels), sortedEntries(a.annotations), a.generatorURL]);
  const content = [notification.status, notification.truncatedAlerts, sortedEntries(notification.commonAnnotations), alerts];
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

/** One firing (or resolved) period of one alert: the same fingerprint firing again later is another. */
const occurrence = (alert: NotifiedAlert): string => `${alert.fingerprint}@${alert.startsAt}`;

export function compareNotifications(previous: AlertNotification | null, incoming: AlertNotification): NotificationChange {
  if (previous === null) return { kind: 'new', transitions: transitionsOf(new Map(), incoming) };
  if (notificationDigest(previous) === notificationDigest(incoming)) return { kind: 'repeat' };
  const before = new Map(previous.alerts.map((a) => [occurrence(a), a.status]));
  if (previous.status === 'resolved' && incoming.status === 'firing') {
    const firingAgain = incoming.alerts.some((a) => a.status === 'firing' && before.get(occurrence(a)) !== 'resolved');
    return firingAgain ? { kind: 'new', transitions: transitionsOf(new Map(), incoming) } : { kind: 'stale' };
  }
  return { kind: 'changed', transitions: transitionsOf(before, incoming) };
}

function transitionsOf(before: Map<string, string>, incoming: AlertNotification): AlertTransition[] {
  return incoming.alerts.filter((a) => before.get(occurrence(a)) !== a.status).map((alert) => ({ status: alert.status, alert }));
}
