import type { EventsResult } from '../../handlers/events.js';
import type { WarningEvent } from '../../ops/kube/warning-events.js';
import { formatDuration } from '../../duration.js';
import { context, escapeMrkdwn, fitMessage, header, listWithMore, measuredAt, message, section, truncateText, type Block, type Message } from '../blocks.js';

const MAX_EVENTS = 25;
const MAX_MESSAGE = 300;

export function eventsView(result: EventsResult): Message {
  if (!result.configured) {
    const text = 'Kubernetes is not configured, so there are no events to read: set KUBECONFIG, or run the bot in the cluster.';
    return message(text, [section(text)]);
  }
  const scope = result.since === null ? '' : ` in the last ${result.since}`;
  const blocks: Block[] = [header(`Warning events of ${result.namespace}/${result.deployment}`)];
  if (result.events.length === 0) {
    blocks.push(section(`No warning events about the database's pods, volume claim or deployment${scope}. (Kubernetes keeps events for an hour by default.)`));
  } else {
    const lines = listWithMore(result.events, MAX_EVENTS, (e) => eventLine(e, result.measuredAt), 'events');
    blocks.push(section(lines.join('\n')));
  }
  const notes = [`Pods, ReplicaSets and the deployment ${escapeMrkdwn(result.deployment)}, the volume claim ${escapeMrkdwn(result.pvc)}${scope}; newest first`];
  if (result.otherCount > 0) notes.push(`${result.otherCount} other warning ${result.otherCount === 1 ? 'event' : 'events'} in ${escapeMrkdwn(result.namespace)} about other objects left out`);
  blocks.push(context(notes), measuredAt(result.measuredAt));
  return fitMessage({
    text: `${result.events.length} warning ${result.events.length === 1 ? 'event' : 'events'} of ${result.namespace}/${result.deployment}${result.events[0] ? ` — newest: ${result.events[0].reason}` : ''}`,
    blocks,
  });
}

/** `3m ago · Pod recipe-database-… · BackOff ×12 — Back-off restarting failed container …` */
export function eventLine(e: WarningEvent, now: Date): string {
  const age = e.lastSeen === null ? 'age n/a' : `${formatDuration(Math.max(0, now.getTime() - e.lastSeen.getTime()))} ago`;
  const count = e.count > 1 ? ` ×${e.count}` : '';
  return `:warning: ${age} · ${escapeMrkdwn(e.kind)} \`${escapeMrkdwn(e.name)}\` · *${escapeMrkdwn(e.reason)}*${count} — ${escapeMrkdwn(truncateText(e.message, MAX_MESSAGE))}`;
}
