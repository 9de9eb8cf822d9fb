/**
 * What the buttons of an alert message do, without Slack: silence the group in Alertmanager for
 * an hour (anyone may: silencing is not destructive, but it is recorded), expire that silence,
 * start an incident from the alert, and find the `kill --older-than` command its rule asks for
 * (which then goes through the usual approval, like a typed command). A request that cannot be
 * carried out is a Refusal with the sentence to show.
 *
 *   const silenced = await silenceAlertGroup(services, { groupId: 7, userId: 'U1', userName: 'alice' });
 *   const started = await startIncidentFromAlert(services, { groupId: 7, userId: 'U1' });
 */
import type { Services } from '../context.js';
import { formatDuration } from '../duration.js';
import { formatTime } from '../format.js';
import { createSilence, expireSilence } from '../ops/alertmanager/alertmanager-api.js';
import {
  claimAlertSilencing, clearAlertSilence, findAlertGroup, linkAlertIncident, releaseAlertSilencing, setAlertSilence, type AlertGroup,
} from '../state/alert-groups.js';
import { openIncident, type Incident, type Severity } from '../state/incidents.js';
import { alertRecord } from './alert-notifications.js';
import { alertSeverity, alertTitle, groupName, killThresholdMs, matchersText, silenceMatchers } from './alert-facts.js';
import { Refusal } from './refusal.js';

export const SILENCE_FOR_MS = 60 * 60_000;
const INCIDENT_TITLE_MAX = 140;
// An alert group of many alerts still makes a readable first page of the timeline.
const MAX_ALERTS_IN_TIMELINE = 20;

async function groupOrRefuse(services: Services, groupId: number): Promise<AlertGroup> {
  const group = await findAlertGroup(services.state, groupId);
  if (!group) throw new Refusal('The bot does not know this alert (any more).');
  return group;
}

function alertmanagerUrl(services: Services): string {
  const url = services.config.alerts.alertmanagerUrl;
  if (!url) throw new Refusal('Silencing needs ALERTMANAGER_URL, which is not set.');
  return url;
}

export interface SilenceResult {
  group: AlertGroup;
  silenceId: string;
  until: Date;
  matchers: string;
}

export async function silenceAlertGroup(services: Services, input: { groupId: number; userId: string; userName?: string }): Promise<SilenceResult> {
  const url = alertmanagerUrl(services);
  const group = await groupOrRefuse(services, input.groupId);
  if (group.status === 'resolved') throw new Refusal('This alert has resolved: there is nothing to silence.');
  const matchers = silenceMatchers(group.notification);
  if (matchers.length === 0) throw new Refusal('The alerts of this group share no label to silence them by; silence them in Alertmanager.');
  if (group.silence && group.silence.until > services.now()) {
    throw new Refusal(`Already silenced by @${group.silence.by} until ${formatTime(group.silence.until)}.`);
  }
  if (!(await claimAlertSilencing(services.state, group.id, services.instance))) {
    throw new Refusal('This alert is being silenced or is already silenced (click once; the message will show it).');
  }
  const now = services.now();
  const until = new Date(now.getTime() + SILENCE_FOR_MS);
  let silenceId: string;
  try {
    silenceId = await createSilence(url, {
      matchers,
      startsAt: now,
      endsAt: until,
      // Alertmanager shows this as the silence's author.
      createdBy: input.userName ? `${input.userName} (${input.userId})` : input.userId,
      comment: `Silenced for ${formatDuration(SILENCE_FOR_MS)} from Slack with recipedb-ops (alert ${groupName(group.notification)})`,
    });
  } catch (error) {
    await releaseAlertSilencing(services.state, group.id, services.instance);
    throw error;
  }
  const silenced = (await setAlertSilence(services.state, group.id, { id: silenceId, by: input.userId, until })) ?? group;
  const text = matchersText(matchers);
  await services.recorder.record({
    actor: input.userId,
    channel: group.channel,
    kind: 'alert.silenced',
    action: 'silence',
    summary: `silenced the alert ${groupName(group.notification)} in Alertmanager until ${formatTime(until)} (silence ${silenceId}: ${text})`,
    details: { silenceId, matchers, startsAt: now.toISOString(), endsAt: until.toISOString(), groupKey: group.groupKey },
  });
  return { group: silenced, silenceId, until, matchers: text };
}

export interface ExpireResult {
  group: AlertGroup;
  silenceId: string;
  /** not-found: Alertmanager had forgotten it already (expired, or deleted there). */
  result: 'expired' | 'not-found';
}

export async function expireAlertSilence(services: Services, input: { groupId: number; userId: string }): Promise<ExpireResult> {
  const url = alertmanagerUrl(services);
  const group = await groupOrRefuse(services, input.groupId);
  const silenceId = group.silence?.id;
  if (!silenceId) throw new Refusal('This alert is not silenced (any more).');
  const result = await expireSilence(url, silenceId);
  const cleared = await clearAlertSilence(services.state, group.id, silenceId);
  if (!cleared) throw new Refusal('The silence was already expired.');
  await services.recorder.record({
    actor: input.userId,
    channel: group.channel,
    kind: 'alert.unsilenced',
    action: 'silence expire',
    summary: `expired the silence ${silenceId} of the alert ${groupName(group.notification)}${result === 'not-found' ? ' (Alertmanager no longer had it)' : ''}`,
    details: { silenceId, groupKey: group.groupKey, result },
  });
  return { group: cleared, silenceId, result };
}

const SEVERITY_BY_ALERT: Record<string, Severity> = { critical: 'sev2', warning: 'sev3' };

export type StartIncidentResult = { kind: 'started'; incident: Incident; group: AlertGroup } | { kind: 'existing'; incident: Incident };

/**
 * An incident titled after the alert, in the channel of the alert's message, whose timeline begins
 * with the alert (at the time it started firing), then the declaration.
 */
export async function startIncidentFromAlert(services: Services, input: { groupId: number; userId: string }): Promise<StartIncidentResult> {
  const group = await groupOrRefuse(services, input.groupId);
  const firing = group.notification.alerts.filter((a) => a.status === 'firing');
  const first = firing[0] ?? group.notification.alerts[0];
  if (!first) throw new Refusal('This alert group has no alerts.');
  const more = firing.length > 1 ? ` (+${firing.length - 1} more)` : '';
  const titleText = `${alertTitle(first)}${more}`;
  const title = titleText.length > INCIDENT_TITLE_MAX ? `${titleText.slice(0, INCIDENT_TITLE_MAX - 1)}…` : titleText;
  const severity = SEVERITY_BY_ALERT[alertSeverity(first)] ?? 'sev3';
  const { incident, existing } = await openIncident(services.state, { channel: group.channel, title, severity, declaredBy: input.userId });
  if (existing) return { kind: 'existing', incident };
  const now = services.now();
  for (const alert of (firing.length ? firing : [first]).slice(0, MAX_ALERTS_IN_TIMELINE)) {
    await services.recorder.record(alertRecord(group, { status: alert.status, alert }, now));
  }
  await services.recorder.record({
    actor: input.userId,
    channel: group.channel,
    kind: 'incident',
    action: 'incident start',
    summary: `declared the incident "${title}" (${severity}) from the alert ${groupName(group.notification)}; @${input.userId} is the commander`,
    details: { groupKey: group.groupKey },
  });
  const linked = (await linkAlertIncident(services.state, group.id, incident.id)) ?? group;
  return { kind: 'started', incident, group: linked };
}

/** The command line the Kill… button runs for the requester (it asks for approval as typed). */
export async function killCommandForAlert(services: Services, groupId: number): Promise<string> {
  const group = await groupOrRefuse(services, groupId);
  if (group.status === 'resolved') throw new Refusal('This alert has resolved: nothing runs long any more.');
  const thresholdMs = killThresholdMs(group.notification);
  if (thresholdMs === null) throw new Refusal('This alert does not say what to kill (its rule has no runbook_action="kill" with a kill_older_than duration).');
  // Whole seconds, written by the bot: nothing from the alert reaches the command line as text.
  return `kill --older-than ${Math.max(1, Math.round(thresholdMs / 1000))}s`;
}
