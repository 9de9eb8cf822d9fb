/**
 * `incident <start|note|status|severity|commander|impact|cause|prevention|escalate|resolve> …`:
 * the incident record of the channel. Everything that changes the record goes through the
 * recorder, so the timeline (and its thread) is written in one place.
 */
import { z } from 'zod';
import { ESCALATION_LEVELS, type EscalationLevel } from '../config.js';
import {
  claimUnpostedEvents, findIncident, findOpenIncident, listIncidentEvents, setEventThreadTs, openIncident, resolveIncident, setIncidentRoot, updateIncident,
  SEVERITIES, type Incident, type IncidentEvent, type IncidentField, type Severity,
} from '../state/incidents.js';
import type { Services } from '../context.js';
import { defineHandler, type HandlerContext } from './handler.js';
import { Refusal } from './refusal.js';

export const ESCALATION_NAMES: Record<EscalationLevel, string> = {
  '1': 'level 1 (DevOps team)',
  '2': 'level 2 (database specialists)',
  '3': 'level 3 (vendor support)',
  mgmt: 'management',
};

const TEXT_FIELDS = { impact: 'impact', cause: 'root_cause', prevention: 'prevention' } as const;

type IncidentArgs =
  | { sub: 'start'; title: string; severity: Severity }
  | { sub: 'note'; text: string }
  | { sub: 'status' }
  | { sub: 'severity'; severity: Severity }
  | { sub: 'commander'; userId: string }
  | { sub: 'field'; field: keyof typeof TEXT_FIELDS; text: string }
  | { sub: 'escalate'; level: EscalationLevel }
  | { sub: 'resolve'; text: string | null };

export type IncidentResult =
  | { kind: 'started'; incident: Incident; existing: boolean }
  | { kind: 'updated'; incident: Incident; change: string }
  | { kind: 'status'; incident: Incident; events: IncidentEvent[]; eventCount: number; now: Date }
  | { kind: 'resolved'; incident: Incident; events: IncidentEvent[] };

const SUBS = 'start <title> [--severity sev1|sev2|sev3|sev4] | note <text> | status | severity <sevN> | commander <@user> | impact <text> | cause <text> | prevention <text> | escalate <1|2|3|mgmt> | resolve [text]';

const severity = z.enum(SEVERITIES, { message: 'severity must be one of sev1, sev2, sev3, sev4' });

/** Free text after the sub-command word, as typed. */
function restOf(text: string): string {
  return text.replace(/^\S+\s*/, '').trim();
}

const incidentArgs = z
  .object({ positional: z.array(z.string()), flags: z.record(z.string(), z.union([z.string(), z.literal(true)])), text: z.string() })
  .transform((raw, ctx): IncidentArgs => {
    const fail = (message: string) => {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    };
    const [sub = '', ...words] = raw.positional;
    const rest = restOf(raw.text);
    const tooLong = (s: string) => s.length > 2_000;
    switch (sub.toLowerCase()) {
      case 'start': {
        const unknown = Object.keys(raw.flags).find((f) => f !== 'severity');
        if (unknown) return fail(`start does not know --${unknown}`);
        const level = severity.safeParse(raw.flags.severity ?? 'sev3');
        if (!level.success) return fail('start --severity must be one of sev1, sev2, sev3, sev4');
        const title = words.join(' ').trim();
        if (!title) return fail('start needs a title');
        if (title.length > 140) return fail('start: the title must be at most 140 characters');
        return { sub: 'start', title, severity: level.data };
      }
      case 'note':
        if (!rest) return fail('note needs some text');
        if (tooLong(rest)) return fail('note: at most 2,000 characters');
        return { sub: 'note', text: rest };
      case 'status':
        return words.length ? fail('status takes no arguments') : { sub: 'status' };
      case 'severity': {
        const level = severity.safeParse(words[0]?.toLowerCase());
        return level.success && words.length === 1 ? { sub: 'severity', severity: level.data } : fail('severity must be one of sev1, sev2, sev3, sev4');
      }
      case 'commander': {
        const mention = /^@?([UW][A-Z0-9_]+)$/.exec(words[0] ?? '');
        return mention && words.length === 1 ? { sub: 'commander', userId: mention[1] as string } : fail('commander needs one @user');
      }
      case 'impact':
      case 'cause':
      case 'prevention':
        if (!rest) return fail(`${sub} needs some text`);
        if (tooLong(rest)) return fail(`${sub}: at most 2,000 characters`);
        return { sub: 'field', field: sub.toLowerCase() as keyof typeof TEXT_FIELDS, text: rest };
      case 'escalate': {
        const level = ESCALATION_LEVELS.find((l) => l === words[0]?.toLowerCase());
        return level && words.length === 1 ? { sub: 'escalate', level } : fail('escalate needs a level: 1, 2, 3 or mgmt');
      }
      case 'resolve':
        if (tooLong(rest)) return fail('resolve: at most 2,000 characters');
        return { sub: 'resolve', text: rest || null };
      default:
        return fail(sub ? `has no sub-command \`${sub}\`` : 'needs a sub-command');
    }
  });

export const incidentHandler = defineHandler({
  name: 'incident',
  usage: `incident ${SUBS}`,
  summary: 'declare an incident and keep its timeline in a thread: notes, severity, commander, impact, cause, escalation, resolution',
  recordsOwnTimeline: true,
  args: incidentArgs,
  async run(args, ctx): Promise<IncidentResult> {
    if (args.sub === 'start') return start(args.title, args.severity, ctx);
    const incident = await findOpenIncident(ctx.state, ctx.actor.channelId);
    if (!incident) throw new Refusal('There is no open incident in this channel; declare one with `/recipedb incident start <title>`.');
    const note = (kind: 'incident' | 'note', summary: string, details?: Record<string, unknown>) =>
      ctx.recorder.record({ actor: ctx.actor.userId, channel: ctx.actor.channelId, kind, action: `incident ${args.sub}`, summary, details });
    switch (args.sub) {
      case 'note':
        await note('note', args.text);
        return { kind: 'updated', incident, change: 'Note added to the timeline.' };
      case 'status': {
        const events = await listIncidentEvents(ctx.state, incident.id);
        return { kind: 'status', incident, events: events.slice(-10), eventCount: events.length, now: ctx.now() };
      }
      case 'severity':
        return update(incident, 'severity', args.severity, `Severity changed from ${incident.severity} to ${args.severity}.`, ctx);
      case 'commander':
        return update(incident, 'commander', args.userId, `@${args.userId} is now the incident commander.`, ctx);
      case 'field': {
        const label = { impact: 'Impact', cause: 'Root cause', prevention: 'Prevention' }[args.field];
        return update(incident, TEXT_FIELDS[args.field], args.text, `${label}: ${args.text}`, ctx);
      }
      case 'escalate': {
        const group = ctx.config.incidents.escalation[args.level];
        const variable = args.level === 'mgmt' ? 'ESCALATION_MGMT' : `ESCALATION_L${args.level}`;
        if (!group) throw new Refusal(`No Slack user group is configured for ${ESCALATION_NAMES[args.level]} (set ${variable}).`);
        await note('incident', `escalated to ${ESCALATION_NAMES[args.level]}: @${group}`, { level: args.level, group });
        return { kind: 'updated', incident, change: `Escalated to ${ESCALATION_NAMES[args.level]}: @${group}` };
      }
      case 'resolve': {
        await note('incident', `resolved the incident${args.text ? `: ${args.text}` : ''}`);
        const resolved = (await resolveIncident(ctx.state, incident.id, args.text)) ?? incident;
        return { kind: 'resolved', incident: resolved, events: await listIncidentEvents(ctx.state, incident.id) };
      }
    }
  },
});

async function start(title: string, level: Severity, ctx: HandlerContext): Promise<IncidentResult> {
  const { incident, existing } = await openIncident(ctx.state, { channel: ctx.actor.channelId, title, severity: level, declaredBy: ctx.actor.userId });
  if (!existing) {
    await ctx.recorder.record({
      actor: ctx.actor.userId,
      channel: ctx.actor.channelId,
      kind: 'incident',
      action: 'incident start',
      summary: `declared the incident "${title}" (${level}); @${ctx.actor.userId} is the commander`,
    });
  }
  return { kind: 'started', incident, existing };
}

async function update(incident: Incident, field: IncidentField, value: string, change: string, ctx: HandlerContext): Promise<IncidentResult> {
  const updated = (await updateIncident(ctx.state, incident.id, field, value)) ?? incident;
  await ctx.recorder.record({ actor: ctx.actor.userId, channel: ctx.actor.channelId, kind: 'incident', action: `incident ${field}`, summary: change });
  return { kind: 'updated', incident: updated, change };
}

/** Remembers the root message of a new incident (its thread holds the timeline). */
export async function attachIncidentRoot(services: Services, incidentId: number, rootTs: string): Promise<void> {
  await setIncidentRoot(services.state, incidentId, rootTs);
}

/**
 * Adds a Slack message to the channel's open incident (message shortcut or reaction). Returns
 * 'duplicate' when that message is already in the timeline.
 */
export async function addMessageToTimeline(
  services: Services,
  input: { channel: string; messageTs: string; author: string; text: string; permalink?: string; addedBy: string },
): Promise<'added' | 'duplicate' | 'no-incident'> {
  const incident = await findOpenIncident(services.state, input.channel);
  if (!incident) return 'no-incident';
  const at = new Date(Number(input.messageTs) * 1000);
  const quoted = input.text.length > 1_500 ? `${input.text.slice(0, 1_500)}…` : input.text;
  const recorded = await services.recorder.record({
    actor: input.addedBy,
    channel: input.channel,
    kind: 'note',
    action: 'incident add-message',
    summary: `message from @${input.author}: ${quoted}${input.permalink ? ` (original: ${input.permalink})` : ''}`,
    details: { author: input.author, messageTs: input.messageTs, permalink: input.permalink },
    sourceKey: `message:${input.channel}:${input.messageTs}`,
    at: Number.isFinite(at.getTime()) ? at : undefined,
  });
  return recorded.duplicate ? 'duplicate' : 'added';
}

/**
 * The incident's timeline events not yet posted to its thread, claimed for posting (so another
 * replica does not post them too); none while the root message is not known yet.
 */
export async function claimTimelineToPost(services: Services, incidentId: number): Promise<{ incident: Incident; events: IncidentEvent[] } | null> {
  const incident = await findIncident(services.state, incidentId);
  if (!incident?.rootTs) return null;
  return { incident, events: await claimUnpostedEvents(services.state, incidentId, { by: services.instance, replicaTimeoutMs: services.config.replicaTimeoutMs }) };
}

/** Records where an event was posted, or (null) releases its claim so that the next flush retries it. */
export async function markTimelinePosted(services: Services, eventId: number, threadTs: string | null): Promise<void> {
  await setEventThreadTs(services.state, eventId, threadTs);
}

export async function openIncidentOf(services: Services, channel: string): Promise<Incident | null> {
  return findOpenIncident(services.state, channel);
}
