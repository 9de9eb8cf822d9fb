/**
 * Posts timeline events into their incident's thread, in order, each exactly once (also across
 * replicas: events are claimed in the state database before posting). Events recorded before the
 * root message exists wait and are posted by the next flush.
 *
 *   recorder.addSink(incidentThreadSink(services, client).sink);
 */
import type { webApi } from '@slack/bolt';
import type { Services } from '../context.js';
import { claimTimelineToPost, markTimelinePosted, openIncidentOf } from '../handlers/incident.js';
import type { RecordSink } from '../state/recorder.js';
import { incidentEventView } from './views/incident-view.js';

export interface IncidentThread {
  sink: RecordSink;
  /** Posts what is waiting for the channel's open incident (after its root message was posted). */
  flushChannel(channel: string): Promise<void>;
}

export function incidentThread(services: Services, client: webApi.WebClient): IncidentThread {
  const { log } = services;
  // One flush at a time per incident keeps the thread in order within this process.
  const queues = new Map<number, Promise<void>>();

  const flush = (incidentId: number): Promise<void> => {
    const previous = queues.get(incidentId) ?? Promise.resolve();
    const next = previous.then(() => postWaiting(incidentId)).catch((err: unknown) => log.warn({ err, incidentId }, 'could not post to the incident thread'));
    queues.set(incidentId, next);
    return next;
  };

  const postWaiting = async (incidentId: number) => {
    const waiting = await claimTimelineToPost(services, incidentId);
    if (!waiting?.incident.rootTs) return;
    const { incident, events } = waiting;
    for (const event of events) {
      const message = incidentEventView(event);
      try {
        const posted = await client.chat.postMessage({ channel: incident.channel, thread_ts: incident.rootTs ?? undefined, text: message.text, blocks: message.blocks });
        await markTimelinePosted(services, event.id, posted.ts ?? 'posted');
      } catch (error) {
        await markTimelinePosted(services, event.id, null);
        throw error;
      }
    }
  };

  return {
    sink: async (recorded) => {
      if (recorded.incident && recorded.event) await flush(recorded.incident.id);
    },
    async flushChannel(channel) {
      const incident = await openIncidentOf(services, channel);
      if (incident) await flush(incident.id);
    },
  };
}
