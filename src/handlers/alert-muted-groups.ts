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
 * restarted without its state lists nothing, and that is not a resolution. One restarted with its
 * state keeps the silences but not the alerts, until Prometheus sends them again: the answering
 * Alertmanager must have started before the bot last heard of the group or saw it muted, or long
 * enough ago for Prometheus to have sent again whatever still fires.
 *
 *   const changed = await followMutedAlertGroups(services); // src/jobs/alert-redraw.ts; → group ids to redraw
 */
import type { Services } from '../context.js';
import { alertmanagerStartedAt, listAlertmanagerAlerts, readSilence, type AlertmanagerAlert, type AlertmanagerSilence } from '../ops/alertmanager/alertmanager-api.js';
import type { AlertNotification } from '../ops/alertmanager/webhook-payload.js';
import { listFiringAlertGroups, noteAlertGroupsSeenMuted, setAlertGroupMuted, storeAlertNotification, type AlertGroup, type AlertMute } from '../state/alert-groups.js';
import { recordAlertTransitions } from './alert-notifications.js';

type SilenceLookup = (id: string) => Promise<AlertmanagerSilence | null>;

// Prometheus sends firing alerts again every resend_delay (1m by default): an Alertmanager up for
// longer than this holds every alert that still fires.
const RESTART_GRACE_MS = 5 * 60_000;

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
  // Asked once per look, and only when something depends on it.
  let started: Promise<Date> | undefined;
  const startedAt = () => (started ??= alertmanagerStartedAt(base));
  const now = services.now();
  const changed: number[] = [];
  const seenMuted: number[] = [];
  for (const group of firing) {
    const resolved = resolvedNotification(group, listed, now);
    if (resolved && (await goneWhileMuted(group, silence)) && heldSinceLastSeen(group, await startedAt(), now)) {
      // Stored directly: it is not a notification received (the notifications metric counts those).
      const stored = await storeAlertNotification(services.state, { notification: resolved, channel: group.channel });
      await recordAlertTransitions(services, stored);
      if (stored.change.kind === 'new' || stored.change.kind === 'changed') changed.push(stored.group.id);
      continue;
    }
    const shown = listedAlerts(group, listed);
    if (shown.length === 0) continue;
    if (shown.every((a) => a.state === 'suppressed')) seenMuted.push(group.id);
    const muted = await mutesOf(group, shown, listed, silence);
    if (muted === null && group.muted === null) continue;
    if (await setAlertGroupMuted(services.state, group.id, muted)) changed.push(group.id);
  }
  if (seenMuted.length) await noteAlertGroupsSeenMuted(services.state, seenMuted, await startedAt());
  return changed;
}

/** Whether the answering Alertmanager holds every alert of the group that still fires. */
function heldSinceLastSeen(group: Pick<AlertGroup, 'heardAt' | 'mutedSeenAt'>, startedAt: Date, now: Date): boolean {
  const lastSeen = Math.max(group.heardAt.getTime(), group.mutedSeenAt?.getTime() ?? 0);
  return startedAt.getTime() <= lastSeen || now.getTime() - startedAt.getTime() > RESTART_GRACE_MS;
}

/** The group's firing alerts as Alertmanager lists them now. */
function listedAlerts(group: Pick<AlertGroup, 'notification'>, listed: ReadonlyMap<string, AlertmanagerAlert>): AlertmanagerAlert[] {
  return group.notification.alerts.flatMap((a) => {
    const held = a.status === 'firing' ? listed.get(a.fingerprint) : undefined;
    return held ? [held] : [];
  });
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
 * What mutes the group's listed alerts besides the bot's own silence (which has its own line on
 * the message): null when one of them is active, or only that silence mutes them.
 */
export async function mutesOf(
  group: Pick<AlertGroup, 'silence'>,
  shown: readonly AlertmanagerAlert[],
  listed: ReadonlyMap<string, AlertmanagerAlert>,
  silence: SilenceLookup,
): Promise<AlertMute[] | null> {
  if (shown.some((a) => a.state !== 'suppressed')) return null;
  const silenceIds = new Set(shown.flatMap((a) => a.silencedBy));
  if (group.silence) silenceIds.delete(group.silence.id);
  const inhibitors = new Set(shown.flatMap((a) => a.inhibitedBy.map((fingerprint) => listed.get(fingerprint)?.labels.alertname ?? '')));
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
