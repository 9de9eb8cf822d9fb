/**
 * The message of one alert group: its alerts (severity, summary, description, the labels that
 * tell them apart, since when, a link to the graph), `+N more` for what is not shown, its silence,
 * what else mutes it in Alertmanager (a silence made elsewhere, an inhibition), its incident and the buttons the runbook's first steps need. Resolved, it turns green and says
 * how long it fired. Rendered from the stored group alone, so any replica can redraw it.
 */
import { formatDuration } from '../../duration.js';
import { formatTime } from '../../format.js';
import {
  alertSeverity, alertTitle, firedForMs, groupFiredForMs, groupName, killThresholdMs, labelsThatMatter, silenceMatchers,
} from '../../handlers/alert-facts.js';
import type { NotifiedAlert } from '../../ops/alertmanager/webhook-payload.js';
import type { AlertGroup, AlertMute } from '../../state/alert-groups.js';
import {
  actions, actorMention, button, context, escapeMrkdwn, fitMessage, header, mrkdwnLink, section, truncateText, type Block, type ButtonElement, type Message,
} from '../blocks.js';
import {
  ALERT_ACTIVE_ACTION, ALERT_EXPIRE_SILENCE_ACTION, ALERT_INCIDENT_ACTION, ALERT_KILL_ACTION, ALERT_SILENCE_ACTION, ALERT_STATUS_ACTION,
} from '../slack-surface.js';

export interface AlertGroupViewOptions {
  now: Date;
  /** ALERTMANAGER_URL is set: silences can be made and expired. */
  canSilence: boolean;
}

const MAX_SHOWN = 8;
const MAX_MUTES_SHOWN = 3;

/** Slack's own attachment colours: danger, warning, good. */
export const COLORS = { firing: '#e01e5a', warning: '#ecb22e', resolved: '#2eb886' } as const;

function alertBlock(alert: NotifiedAlert, now: Date): Block {
  const firing = alert.status === 'firing';
  const lines = [`${firing ? ':red_circle:' : ':large_green_circle:'} *${escapeMrkdwn(alertSeverity(alert))}* · ${escapeMrkdwn(alertTitle(alert))}`];
  const description = alert.annotations.description?.trim();
  if (description && description !== alert.annotations.summary?.trim()) lines.push(escapeMrkdwn(truncateText(description.replace(/\s+/g, ' '), 400)));
  const labels = labelsThatMatter(alert.labels);
  if (labels.length) lines.push(labels.map(([name, value]) => `\`${escapeMrkdwn(name)}=${escapeMrkdwn(truncateText(value, 80))}\``).join(' '));
  const started = new Date(alert.startsAt);
  const when = firing
    ? `Started ${formatTime(started)} (${formatDuration(firedForMs(alert, now))} ago)`
    : `Fired ${formatTime(started)} → ${alert.endsAt ? formatTime(new Date(alert.endsAt)) : '?'} (${formatDuration(firedForMs(alert, now))})`;
  const graph = alert.generatorURL ? ` · ${mrkdwnLink(alert.generatorURL, 'graph')}` : '';
  lines.push(`${when}${graph}`);
  return section(lines.join('\n'));
}

/** Text from Alertmanager, which anyone with its UI or amtool wrote: escaped and bounded. */
const quoted = (text: string, max: number) => escapeMrkdwn(truncateText(text.replace(/\s+/g, ' ').trim(), max));

function muteNote(mute: AlertMute): string {
  if (mute.kind === 'inhibition') return `:no_bell: Muted in Alertmanager: inhibited by ${mute.by ? `*${quoted(mute.by, 120)}*` : 'an inhibition rule'}`;
  const by = mute.createdBy ? ` by *${quoted(mute.createdBy, 120)}*` : '';
  const until = mute.endsAt ? ` until ${formatTime(new Date(mute.endsAt))}` : '';
  const comment = mute.comment?.trim() ? `: “${quoted(mute.comment, 200)}”` : '';
  return `:no_bell: Muted in Alertmanager: silenced${by}${until} (silence ${quoted(mute.id, 64)})${comment}`;
}

export function alertGroupView(group: AlertGroup, options: AlertGroupViewOptions): Message {
  const { notification } = group;
  const { now } = options;
  const name = groupName(notification);
  const resolved = group.status === 'resolved';
  const firing = notification.alerts.filter((a) => a.status === 'firing');
  const severity = notification.commonLabels.severity;
  const blocks: Block[] = [
    header(resolved ? `✅ Resolved: ${name}` : `🔥 ${severity ? `[${severity.toUpperCase()}] ` : ''}${name}`),
  ];
  const earliest = new Date(Math.min(...notification.alerts.map((a) => Date.parse(a.startsAt))));
  const firedFor = formatDuration(groupFiredForMs(notification, now));
  if (resolved) {
    blocks.push(section(`:large_green_circle: *Resolved*${group.resolvedAt ? ` at ${formatTime(group.resolvedAt)}` : ''} after firing for *${firedFor}*.`));
  } else {
    const resolvedCount = notification.alerts.length - firing.length;
    const count = `*${firing.length} firing*${resolvedCount ? `, ${resolvedCount} resolved` : ''}`;
    blocks.push(section(`:fire: ${count} · since ${formatTime(earliest)} (${firedFor})`));
  }
  // Firing first: what still needs someone.
  const ordered = [...firing, ...notification.alerts.filter((a) => a.status !== 'firing')];
  blocks.push(...ordered.slice(0, MAX_SHOWN).map((a) => alertBlock(a, now)));
  const hidden = Math.max(0, ordered.length - MAX_SHOWN) + notification.truncatedAlerts;
  if (hidden > 0) {
    const cut = notification.truncatedAlerts > 0 ? ` (${notification.truncatedAlerts} left out of the notification by the receiver's max_alerts)` : '';
    blocks.push(context([`+${hidden} more ${hidden === 1 ? 'alert' : 'alerts'} in this group${cut}`]));
  }

  const notes: string[] = [];
  const runbook = notification.commonAnnotations.runbook_url ?? firing[0]?.annotations.runbook_url;
  if (runbook) notes.push(mrkdwnLink(runbook, 'Runbook'));
  if (notification.externalURL) notes.push(mrkdwnLink(notification.externalURL, 'Alertmanager'));
  const silenced = group.silence && group.silence.until > now ? group.silence : null;
  if (silenced) notes.push(`:no_bell: Silenced in Alertmanager by ${actorMention(silenced.by)} until ${formatTime(silenced.until)}`);
  if (!resolved && group.muted) {
    notes.push(...group.muted.slice(0, MAX_MUTES_SHOWN).map(muteNote));
    if (group.muted.length > MAX_MUTES_SHOWN) notes.push(`and ${group.muted.length - MAX_MUTES_SHOWN} more silences or inhibitions`);
  }
  if (group.incidentId !== null) notes.push(`:rotating_light: Incident #${group.incidentId} was started from this alert`);
  if (notes.length) blocks.push(context(notes));

  const value = String(group.id);
  const buttons: ButtonElement[] = [];
  if (!resolved) {
    buttons.push(
      button({ text: 'Status', actionId: ALERT_STATUS_ACTION, value }),
      button({ text: 'Active queries', actionId: ALERT_ACTIVE_ACTION, value }),
    );
    if (group.incidentId === null) buttons.push(button({ text: 'Start incident', actionId: ALERT_INCIDENT_ACTION, value }));
    if (options.canSilence && !silenced && silenceMatchers(notification).length > 0) {
      buttons.push(button({ text: 'Silence 1h', actionId: ALERT_SILENCE_ACTION, value }));
    }
    const threshold = killThresholdMs(notification);
    if (threshold !== null) {
      buttons.push(button({ text: `Kill… (older than ${formatDuration(threshold)})`, actionId: ALERT_KILL_ACTION, value, style: 'danger' }));
    }
  }
  if (options.canSilence && silenced) buttons.push(button({ text: 'Expire silence', actionId: ALERT_EXPIRE_SILENCE_ACTION, value }));
  if (buttons.length) blocks.push(actions(`alert:${group.id}`, buttons));

  const first = firing[0] ?? notification.alerts[0];
  const more = firing.length > 1 ? ` (+${firing.length - 1} more)` : '';
  const text = resolved ? `RESOLVED: ${name} after ${firedFor}` : `FIRING: ${name}${first ? ` — ${alertTitle(first)}` : ''}${more}`;
  return { ...fitMessage({ text, blocks }), color: resolved ? COLORS.resolved : severity === 'warning' ? COLORS.warning : COLORS.firing };
}
