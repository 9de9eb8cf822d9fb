/**
 * What the bot reads out of an alert: its name, severity and title, the labels worth showing, how
 * long it fired, the runbook action its rule asks for (deploy/prometheus-rules.yml sets
 * `runbook_action` and `kill_older_than`), and the matchers that silence its group. Plain text,
 * no Slack: views and the recorder both use it.
 *
 *   alertTitle(alert)               // 'PostgreSQL down on db1:9187'
 *   killThresholdMs(notification)   // 600_000 for runbook_action="kill", kill_older_than="10m"
 */
import { parseDuration } from '../duration.js';
import type { SilenceMatcher } from '../ops/alertmanager/alertmanager-api.js';
import type { AlertNotification, NotifiedAlert } from '../ops/alertmanager/webhook-payload.js';

export const RUNBOOK_ACTION_LABEL = 'runbook_action';
export const KILL_THRESHOLD_KEY = 'kill_older_than';

// Labels every alert of a rule shares or that only name the scrape, not the problem.
const NOT_WORTH_SHOWING = new Set(['alertname', 'severity', RUNBOOK_ACTION_LABEL, KILL_THRESHOLD_KEY, 'job', 'prometheus', 'endpoint', 'service', 'container']);

export function alertName(labels: Record<string, string>): string {
  return labels.alertname ?? 'alert';
}

/** The group's name: its alertname when the alerts share one. */
export function groupName(notification: AlertNotification): string {
  return notification.commonLabels.alertname ?? notification.groupLabels.alertname ?? notification.alerts[0]?.labels.alertname ?? 'Alert group';
}

export function alertSeverity(alert: Pick<NotifiedAlert, 'labels'>): string {
  return alert.labels.severity ?? 'unknown';
}

/** The labels that tell this alert from its neighbours (instance, datname, …), sorted. */
export function labelsThatMatter(labels: Record<string, string>): [string, string][] {
  return Object.entries(labels)
    .filter(([name]) => !NOT_WORTH_SHOWING.has(name) && !name.startsWith('__'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function labelText(labels: Record<string, string>): string {
  return labelsThatMatter(labels).map(([name, value]) => `${name}=${value}`).join(', ');
}

/** The summary annotation, or the name with its labels. */
export function alertTitle(alert: Pick<NotifiedAlert, 'labels' | 'annotations'>): string {
  const summary = alert.annotations.summary?.trim();
  if (summary) return summary;
  const labels = labelText(alert.labels);
  return labels ? `${alertName(alert.labels)} (${labels})` : alertName(alert.labels);
}

/** How long it fired (until now while it still fires). */
export function firedForMs(alert: Pick<NotifiedAlert, 'startsAt' | 'endsAt'>, now: Date): number {
  return (alert.endsAt ? Date.parse(alert.endsAt) : now.getTime()) - Date.parse(alert.startsAt);
}

/** From the first start to the last end of the notification's alerts. */
export function groupFiredForMs(notification: AlertNotification, now: Date): number {
  const starts = notification.alerts.map((a) => Date.parse(a.startsAt));
  const ends = notification.alerts.map((a) => (a.endsAt ? Date.parse(a.endsAt) : now.getTime()));
  return Math.max(...ends) - Math.min(...starts);
}

/**
 * The `kill --older-than` threshold the group's rule asks for: a firing alert labelled
 * runbook_action="kill" with a kill_older_than label or annotation that is a duration; null otherwise.
 */
export function killThresholdMs(notification: AlertNotification): number | null {
  for (const alert of notification.alerts) {
    if (alert.status !== 'firing' || alert.labels[RUNBOOK_ACTION_LABEL] !== 'kill') continue;
    const text = alert.labels[KILL_THRESHOLD_KEY] ?? alert.annotations[KILL_THRESHOLD_KEY];
    const ms = text === undefined ? undefined : parseDuration(text);
    if (ms !== undefined && ms >= 1_000) return ms;
  }
  return null;
}

/**
 * Matchers that silence the group: every label its alerts share, each matched exactly (so the
 * silence is as narrow as the group). Empty when the alerts share no label.
 */
export function silenceMatchers(notification: AlertNotification): SilenceMatcher[] {
  return Object.entries(notification.commonLabels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value, isRegex: false, isEqual: true }));
}

export function matchersText(matchers: readonly SilenceMatcher[]): string {
  return matchers.map((m) => `${m.name}="${m.value}"`).join(', ');
}
