/**
 * Alertmanager does not notify about muted alerts, their resolution included: a group silenced
 * with the Silence button that then resolved would stay "firing" in Slack. With ALERTMANAGER_URL
 * set, the groups shown firing under a silence the bot made are compared with what Alertmanager
 * lists; an alert it no longer lists resolved, and is stored as Alertmanager would have reported
 * it, so the message, the audit log and an open incident's timeline follow the usual path.
 * Only while Alertmanager still knows the silence: one that restarted without its state lists
 * nothing, and that is not a resolution.
 *
 *   const changed = await resolveSilencedAlertGroups(services); // src/jobs/alert-redraw.ts; → group ids to redraw
 */
import type { Services } from '../context.js';
import { listAlertmanagerAlerts, silenceKnown } from '../ops/alertmanager/alertmanager-api.js';
import type { AlertNotification } from '../ops/alertmanager/webhook-payload.js';
import { listFiringAlertGroups, storeAlertNotification, type AlertGroup } from '../state/alert-groups.js';
import { recordAlertTransitions } from './alert-notifications.js';

export async function resolveSilencedAlertGroups(services: Services): Promise<number[]> {
  const base = services.config.alerts.alertmanagerUrl;
  if (!base) return [];
  const silenced = (await listFiringAlertGroups(services.state)).filter((g) => g.silence !== null);
  if (silenced.length === 0) return [];
  const listed = new Set((await listAlertmanagerAlerts(base)).map((a) => a.fingerprint));
  const changed: number[] = [];
  for (const group of silenced) {
    const resolved = resolvedNotification(group, listed, services.now());
    if (!resolved || !(await silenceKnown(base, group.silence?.id ?? ''))) continue;
    // Stored directly: it is not a notification received (the notifications metric counts those).
    const stored = await storeAlertNotification(services.state, { notification: resolved, channel: group.channel });
    await recordAlertTransitions(services, stored);
    if (stored.change.kind === 'new' || stored.change.kind === 'changed') changed.push(stored.group.id);
  }
  return changed;
}

/** The group's last notification with the alerts Alertmanager no longer lists resolved now; null when none is. */
export function resolvedNotification(group: Pick<AlertGroup, 'notification'>, listed: ReadonlySet<string>, now: Date): AlertNotification | null {
  const { notification } = group;
  const gone = notification.alerts.filter((a) => a.status === 'firing' && !listed.has(a.fingerprint));
  if (gone.length === 0) return null;
  const alerts = notification.alerts.map((a) => (gone.includes(a) ? { ...a, status: 'resolved' as const, endsAt: now.toISOString() } : a));
  return { ...notification, alerts, status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved' };
}
