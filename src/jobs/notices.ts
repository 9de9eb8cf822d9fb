/**
 * What background jobs have to tell people (a scheduled backup's result, an approval request that
 * expired), handed to whoever shows it: the Slack app posts and redraws, the console prints. Jobs
 * know nothing about Slack; they publish here.
 *
 *   services.notices.listen(async (notice) => { if (notice.kind === 'scheduled-backup') … });
 *   await services.notices.publish({ kind: 'approval-changed', request });
 *
 * Jobs start with the services, before the Slack app listens: what is published while nobody
 * listens waits (the newest MAX_WAITING) for the first listener.
 */
import type { Logger } from 'pino';
import type { ApprovalRequest } from '../state/approvals.js';
import type { ScheduledBackupReport } from './scheduled-backup-report.js';
import type { AppRecovery } from './app-recovery.js';
import type { ScheduledPitrBackupReport } from './scheduled-pitr-backup-report.js';

export type Notice =
  /** For OPS_CHANNEL: a scheduled backup finished, failed or could not start. */
  | { kind: 'scheduled-backup'; report: ScheduledBackupReport }
  /** The request's message must be redrawn: it expired, or the replica running it died. */
  | { kind: 'approval-changed'; request: ApprovalRequest }
  /** An alert group's message is behind what the state database holds (a failed draw, a dead replica). */
  | { kind: 'alert-group-changed'; groupId: number }
  /** For OPS_CHANNEL: an application a dead replica's restore left at 0 was scaled back. */
  | { kind: 'app-scaled-back'; recovery: AppRecovery }
  /** For OPS_CHANNEL: a scheduled pgBackRest base backup (PITR_BACKUP_SCHEDULE) finished or failed. */
  | { kind: 'scheduled-pitr-backup'; report: ScheduledPitrBackupReport };

export type NoticeListener = (notice: Notice) => Promise<void>;

export interface Notices {
  /** Returns what removes the listener. */
  listen(listener: NoticeListener): () => void;
  /** Hands the notice to every listener; a failing listener is logged, never thrown. */
  publish(notice: Notice): Promise<void>;
}

const MAX_WAITING = 100;

export function createNotices(log: Logger): Notices {
  const listeners = new Set<NoticeListener>();
  const waiting: Notice[] = [];
  const deliver = async (notice: Notice): Promise<void> => {
    for (const listener of [...listeners]) {
      await listener(notice).catch((error: unknown) => log.warn({ err: error, notice: notice.kind }, 'could not deliver a notice'));
    }
  };
  return {
    listen(listener) {
      listeners.add(listener);
      for (const notice of waiting.splice(0)) void deliver(notice);
      return () => listeners.delete(listener);
    },
    async publish(notice) {
      if (listeners.size === 0) {
        waiting.push(notice);
        if (waiting.length > MAX_WAITING) waiting.shift();
        return;
      }
      await deliver(notice);
    },
  };
}
