/** The incident's root message, its timeline replies, and the document posted at resolution. */
import { TO_BE_WRITTEN, chronological, documentSections, incidentDuration } from './incident-document.js';
import type { IncidentResult } from '../../handlers/incident.js';
import type { Incident, IncidentEvent } from '../../state/incidents.js';
import { actorMention, context, escapeMrkdwn, header, listWithMore, message, mrkdwnText, section, sectionFields, truncateText, type Block, type Message } from '../blocks.js';
import { formatTime } from '../../format.js';

const KIND_ICON: Record<string, string> = {
  command: ':arrow_forward:',
  'command.failed': ':x:',
  'command.result': ':small_blue_diamond:',
  'approval.requested': ':raised_hand:',
  'approval.approved': ':white_check_mark:',
  'approval.rejected': ':no_entry:',
  'approval.cancelled': ':heavy_minus_sign:',
  'approval.expired': ':hourglass:',
  'action.executed': ':white_check_mark:',
  'action.failed': ':x:',
  'action.interrupted': ':warning:',
  backup: ':floppy_disk:',
  incident: ':rotating_light:',
  note: ':pushpin:',
  'alert.firing': ':fire:',
  'alert.resolved': ':large_green_circle:',
  'alert.silenced': ':no_bell:',
  'alert.unsilenced': ':bell:',
};

export function incidentRootView(incident: Incident, now: Date): Message {
  const open = incident.status === 'open';
  const blocks: Block[] = [
    header(`${open ? '🚨 Incident' : '✅ Resolved'}: ${incident.title}`),
    ...sectionFields([
      `*Severity*\n${incident.severity.toUpperCase()}`,
      `*Status*\n${open ? 'Open' : `Resolved after ${incidentDuration(incident, now)}`}`,
      `*Commander*\n<@${incident.commander}>`,
      `*Declared by*\n<@${incident.declaredBy}>`,
      `*Started*\n${formatTime(incident.startedAt)}`,
      ...(incident.resolvedAt ? [`*Resolved*\n${formatTime(incident.resolvedAt)}`] : []),
    ]),
    context([
      open
        ? 'The timeline is kept in this thread: every /recipedb command in this channel, approvals and results. Add to it with `/recipedb incident note &lt;text&gt;`, the message shortcut, or a :pushpin: reaction.'
        : `Incident #${incident.id} is closed; the document is in the thread.`,
    ]),
  ];
  return message(`${open ? 'Incident' : 'Resolved'}: ${incident.title} (${incident.severity})`, blocks);
}

export function incidentEventView(event: IncidentEvent): Message {
  const line = `${KIND_ICON[event.kind] ?? ':small_blue_diamond:'} \`${formatTime(event.at).slice(11, 19)}\` ${actorMention(event.actor)} ${mrkdwnText(event.text)}`;
  // A Slack user (`@U…`) becomes a mention in the notification; the bot or Alertmanager by name.
  const who = /^[UW][A-Z0-9_]+$/.test(event.actor) ? `@${event.actor}` : event.actor;
  return message(truncateText(`${who}: ${event.text}`, 300), [section(line)]);
}

export function incidentStatusView(result: Extract<IncidentResult, { kind: 'status' }>): Message {
  const { incident, events, eventCount, now } = result;
  const recent = events.map((e) => `\`${formatTime(e.at).slice(11, 19)}\` ${actorMention(e.actor)} ${mrkdwnText(truncateText(e.text, 200))}`);
  return message(`Incident ${incident.title}: open for ${incidentDuration(incident, now)}`, [
    header(`Incident: ${incident.title}`),
    ...sectionFields([
      `*Severity*\n${incident.severity.toUpperCase()}`,
      `*Open for*\n${incidentDuration(incident, now)}`,
      `*Commander*\n<@${incident.commander}>`,
      `*Events*\n${eventCount}`,
    ]),
    section(`*Last events*\n${recent.join('\n') || 'none yet'}`),
  ]);
}

export function incidentDocumentView(incident: Incident, events: readonly IncidentEvent[], now: Date): Message {
  const timeline = listWithMore(chronological(events), 40, (e) => `• \`${formatTime(e.at).slice(11, 19)}\` ${actorMention(e.actor)} ${mrkdwnText(truncateText(e.text, 150))}`, 'events');
  const blocks: Block[] = [
    header(`Incident document: ${incident.title}`),
    context([`Severity ${incident.severity.toUpperCase()} · commander <@${incident.commander}> · ${formatTime(incident.startedAt)} → ${incident.resolvedAt ? formatTime(incident.resolvedAt) : 'open'} (${incidentDuration(incident, now)})`]),
    // section() cuts mrkdwn where no entity, mention or code fence is left half open.
    section(`*Timeline*\n${timeline.join('\n')}`),
    ...documentSections(incident).map((s) => section(`*${s.title}*\n${s.text ? mrkdwnText(truncateText(s.text, 2_800)) : TO_BE_WRITTEN}`)),
    context(['The full document is attached as a Markdown file for the postmortem.']),
  ];
  return message(`Incident document: ${incident.title}`, blocks);
}

export function incidentChangeView(change: string): Message {
  return message(change, [section(`:rotating_light: ${mrkdwnText(change)}`)]);
}

export function incidentAlreadyOpenView(incident: Incident): Message {
  const link = incident.rootTs ? ` (<https://slack.com/archives/${incident.channel}/p${incident.rootTs.replace('.', '')}|root message>)` : '';
  const declared = `(${incident.severity}), declared by @${incident.declaredBy} at ${formatTime(incident.startedAt)}`;
  const text = `An incident is already open in this channel: *${escapeMrkdwn(incident.title)}* ${mrkdwnText(declared)}${link}. Resolve it before starting another.`;
  return message(`An incident is already open in this channel: ${incident.title} ${declared}. Resolve it before starting another.`, [section(`:warning: ${text}`)]);
}
