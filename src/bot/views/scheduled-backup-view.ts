/**
 * What a scheduled backup posts to OPS_CHANNEL: one quiet line when it worked, and a loud one
 * (`<!here>`, the reason in one sentence, what to do) when it did not.
 */
import { formatDuration } from '../../duration.js';
import { context, escapeMrkdwn, fitMessage, measuredAt, section, type Message } from '../blocks.js';
import { formatBytes, formatCount, formatTime } from '../../format.js';
import type { ScheduledBackupDone, ScheduledBackupFailed, ScheduledBackupReport } from '../../jobs/scheduled-backup-report.js';


export function scheduledBackupView(report: ScheduledBackupReport): Message {
  return report.kind === 'ok' ? doneView(report) : failedView(report);
}

function doneView(r: ScheduledBackupDone): Message {
  const counts = Object.entries(r.rowCounts).map(([table, rows]) => `${escapeMrkdwn(table)} ${rows === null ? 'missing' : formatCount(rows)}`);
  const retention = r.deleted.length
    ? `retention (${r.retentionDays} days) deleted ${r.deleted.length} old ${r.deleted.length === 1 ? 'backup' : 'backups'}`
    : `retention (${r.retentionDays} days): nothing to delete`;
  const line = `Scheduled backup \`${escapeMrkdwn(r.name)}\` written: ${formatBytes(r.sizeBytes)} in ${formatDuration(r.durationMs)}`;
  const blocks = [
    section(`:white_check_mark: ${line}`),
    context([
      [`slot ${formatTime(r.slot)}`, counts.length ? `rows ${counts.join(' · ')}` : undefined, retention, `next ${formatTime(r.next)}`]
        .filter((part): part is string => part !== undefined)
        .join(' · '),
    ]),
  ];
  if (r.warnings.length) blocks.push(section(r.warnings.map((w) => `:warning: ${escapeMrkdwn(w)}`).join('\n')));
  blocks.push(measuredAt(r.finishedAt));
  return fitMessage({ text: `Scheduled backup ${r.name} written: ${formatBytes(r.sizeBytes)}`, blocks });
}

function failedView(r: ScheduledBackupFailed): Message {
  const reason = escapeMrkdwn(r.reason);
  return fitMessage({
    text: `Scheduled backup FAILED: ${r.reason}`,
    blocks: [
      section(`:rotating_light: <!here> *The scheduled backup of ${formatTime(r.slot)} FAILED:* ${reason}`),
      context([`No backup was written for this slot. Take one now with \`/recipedb backup\`; the next scheduled backup is at ${formatTime(r.next)}.`]),
      measuredAt(r.failedAt),
    ],
  }, { notifyHere: true });
}
