/**
 * The one place that records what happened: every command, decision and outcome is appended to
 * the audit log, and handed to the timeline sinks (the open incident's thread, later). Handlers
 * never write either themselves, which is what keeps the record complete.
 *
 *   await recorder.record({ actor: 'U1', channel: 'C1', kind: 'command', action: 'status', summary: '/recipedb status' });
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { appendAudit, type AuditEntry, type AuditRecord } from './audit-log.js';

export type TimelineSink = (record: AuditRecord) => Promise<void>;

export interface Recorder {
  record(entry: AuditEntry): Promise<AuditRecord>;
  /** Called for every record after it is stored; a failing sink is logged, never fatal. */
  addSink(sink: TimelineSink): void;
}

export function createRecorder(pool: pg.Pool, log: Logger): Recorder {
  const sinks: TimelineSink[] = [];
  return {
    async record(entry) {
      const stored = await appendAudit(pool, entry);
      log.info({ audit: { id: stored.id, kind: entry.kind, action: entry.action, actor: entry.actor, channel: entry.channel } }, entry.summary);
      for (const sink of sinks) {
        await sink(stored).catch((error: unknown) => log.warn({ err: error }, 'a timeline sink failed'));
      }
      return stored;
    },
    addSink(sink) {
      sinks.push(sink);
    },
  };
}
