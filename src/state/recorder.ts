/**
 * The one place that records what happened: every command, decision and outcome is appended to
 * the audit log and, when its channel has an open incident, to that incident's timeline. Then the
 * sinks run (the bot posts timeline events into the incident's thread). Handlers never write
 * either themselves, which is what keeps the record complete.
 *
 *   await recorder.record({ actor: 'U1', channel: 'C1', kind: 'command', action: 'status', summary: '/recipedb status' });
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { appendAudit, type AuditEntry, type AuditRecord } from './audit-log.js';
import { addIncidentEvent, findOpenIncident, type Incident, type IncidentEvent } from './incidents.js';

export interface RecordEntry extends AuditEntry {
  /** For entries taken from a Slack message (shortcut, reaction): each message enters a timeline once. */
  sourceKey?: string;
  /** The original time of what is recorded, when it is not now (a message added later). */
  at?: Date;
  /** False keeps the entry out of the incident timeline (audit log only). */
  timeline?: boolean;
}

export interface Recorded {
  audit: AuditRecord | null;
  incident: Incident | null;
  event: IncidentEvent | null;
  /** True when the source key was already in the open incident's timeline: nothing was written. */
  duplicate: boolean;
}

export type RecordSink = (recorded: Recorded) => Promise<void>;

export interface Recorder {
  record(entry: RecordEntry): Promise<Recorded>;
  /** Called for every record after it is stored; a failing sink is logged, never fatal. */
  addSink(sink: RecordSink): void;
}

export function createRecorder(pool: pg.Pool, log: Logger): Recorder {
  const sinks: RecordSink[] = [];
  return {
    async record(entry) {
      const incident = entry.channel && entry.timeline !== false ? await findOpenIncident(pool, entry.channel) : null;
      let event: IncidentEvent | null = null;
      if (incident) {
        event = await addIncidentEvent(pool, {
          incidentId: incident.id,
          actor: entry.actor,
          kind: entry.kind,
          text: entry.summary,
          details: { ...entry.details, ...(entry.requestId ? { requestId: entry.requestId } : {}) },
          sourceKey: entry.sourceKey,
          at: entry.at,
        });
        if (!event) return { audit: null, incident, event: null, duplicate: true };
      }
      const audit = await appendAudit(pool, entry);
      log.info({ audit: { id: audit.id, kind: entry.kind, action: entry.action, actor: entry.actor, channel: entry.channel, incident: incident?.id } }, entry.summary);
      const recorded: Recorded = { audit, incident, event, duplicate: false };
      for (const sink of sinks) {
        await sink(recorded).catch((error: unknown) => log.warn({ err: error }, 'a record sink failed'));
      }
      return recorded;
    },
    addSink(sink) {
      sinks.push(sink);
    },
  };
}
