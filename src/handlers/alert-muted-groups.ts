/**
 * Alertmanager does not notify about muted alerts, their resolution included: a group silenced or
 * inhibited that then resolved would stay "firing" in Slack. With ALERTMANAGER_URL set, the groups
 * shown firing are compared with what Alertmanager lists, once per look:
 *
 * - a group whose listed alerts are all suppressed is stored as muted, by what (a silence made
 *   outside the bot, with its author, comment and end; an inhibition, with the inhibiting alert's
 *   name), and its message says so; listed active again, it is stored as not muted;
 * - an alert Alertmanager no longer lists resolved, but only in a group muted when last seen: by
 *   the bot's own silence, or by something else. It is stored as Alertmanager would have reported
 *   it, so the message, the audit log and an open incident's timeline follow the usual path.
 *
 * A group never seen muted and missing from the list is left alone: Alertmanager may be
 * restarting, or the alert still pending. A silence must still be known to Alertmanager: one that
 * restarted without its state lists nothing, and that is not a resolution.
 *
 *   const changed = await followMutedAlertGroups(services); // src/jobs/alert-redraw.ts; → group ids to redraw
 */
import type { Services } from '../context.js';
import { listAlertmanagerAlerts, readSilence, type AlertmanagerAlert, type AlertmanagerSilence } from '../ops/alertmanager/alertmanager-api.js';
import type { AlertNotification } from '../ops/alertmanager/webhook-payload.js';
import { listFiringAlertGroups, setAlertGroupMuted, storeAlertNotification, type AlertGroup, type AlertMute } from '../state/alert-groups.js';
import { recordAlertTransitions } from './alert-notifications.js';

type SilenceLookup = (id: string) => Promise<AlertmanagerSilence | null>;

export async function followMutedAlertGroups(services: Services): Promise<number[]> {
  const base = services.config.alerts.alertmanagerUrl;
  if (!base) return [];
  const firing = await listFiringAlertGroups(services.state);
  if (firing.length === 0) return [];
  const listed = new Map((await listAlertmanagerAlerts(base)).map((a) => [a.fingerprint, a]));
  // Several groups are often muted by one silence: each is read once per look.
  const cache = new Map<string, Promise<AlertmanagerSilence | null>>();
  const silence: SilenceLookup = (id) => {
    let found = cache.get(id);
    if (!found) cache.set(id, (found = readSilence(base, id)));
    return found;
  };
  const changed: number[] = [];
  for (const group of firing) {
    const resolved = resolvedNotification(group, listed, services.now());
    if (resolved && (await goneWhileMuted(group, silence))) {
      // Stored directly: it is not a notification received (the notifications metric counts those).
      const stored = await storeAlertNotification(services.state, { notification: resolved, channel: group.channel });
      await recordAlertTransitions(services, stored);
      if (stored.change.kind === 'new' || stored.change.kind === 'changed') changed.push(stored.group.id);
      continue;
    }
    const muted = await mutesOf(group, listed, silence);
    if (muted !== undefined && (await setAlertGroupMuted(services.state, group.id, muted))) changed.push(group.id);
  }
  return changed;
}

/** Whether alerts missing from the list resolved: the group was muted when last seen, by a silence still known or an inhibition. */
async function goneWhileMuted(group: AlertGroup, silence: SilenceLookup): Promise<boolean> {
  if (group.silence && (await silence(group.silence.id))) return true;
  if (!group.muted?.length) return false;
  const silenceIds = group.muted.flatMap((m) => (m.kind === 'silence' ? [m.id] : []));
  if (silenceIds.length < group.muted.length) return true;
  for (const id of silenceIds) if (await silence(id)) return true;
  return false;
}

/**
 * What mutes the group's firing alerts that Alertmanager lists, besides the bot's own silence
 * (which has its own line on the message): null when one of them is active or only that silence
 * mutes them; undefined when none is listed, which says nothing (the group keeps what was last seen).
 */
export async function mutesOf(group: Pick<AlertGroup, 'notification' | 'silence'>, listed: ReadonlyMap<string, AlertmanagerAlert>, silence: SilenceLookup): Promise<AlertMute[] | null | undefined> {
  const seen = group.notification.alerts.flatMap((a) => {
    const held = a.status === 'firing' ? listed.get(a.fingerprint) : undefined;
    return held ? [held] : [];
  });
  if (seen.length === 0) return undefined;
  if (seen.some((a) => a.state !== 'suppressed')) return null;
  const silenceIds = new Set(seen.flatMap((a) => a.silencedBy));
  if (group.silence) silenceIds.delete(group.silence.id);
  const inhibitors = new Set(seen.flatMap((a) => a.inhibitedBy.map((fingerprint) => listed.get(fingerprint)?.labels.alertname ?? '')));
  const mutes: AlertMute[] = [];
  for (const id of [...silenceIds].sort()) {
    const found = await silence(id);
    mutes.push({ kind: 'silence', id, createdBy: found?.createdBy ?? null, comment: found?.comment ?? null, endsAt: found?.endsAt ?? null });
  }
  for (const name of [...inhibitors].sort()) mutes.push({ kind: 'inhibition', by: name || null });
  return mutes.length ? mutes : null;
}

/** The group's last notification with the alerts Alertmanager no longer lists resolved now; null when none is. */
export function resolvedNotification(group: Pick<AlertGroup, 'notification'>, listed: ReadonlyMap<string, unknown>, now: Date): AlertNotification | null {
  const { notification } = group;
  const gone = notification.alerts.filter((a) => a.status === 'firing' && !listed.has(a.fingerprint));
  if (gone.length === 0) return null;
  const alerts = notification.alerts.map((a) => (gone.includes(a) ? { ...a, status: 'resolved' as const, endsAt: now.toISOString() } : a));
  return { ...notification, alerts, status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved' };
}
