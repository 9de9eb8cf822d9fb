/**
 * What a scheduled base backup (PITR_BACKUP_SCHEDULE) posts to OPS_CHANNEL: one quiet line when it
 * worked, a loud one when it did not (without fresh base backups every restore replays more WAL).
 */
import { formatDuration } from '../../duration.js';
import { formatBytes, formatTime } from '../../format.js';
import type { ScheduledPitrBackupReport } from '../../jobs/scheduled-pitr-backup-report.js';
import { context, escapeMrkdwn, fitMessage, measuredAt, section, type Message } from '../blocks.js';

export function scheduledPitrBackupView(r: ScheduledPitrBackupReport): Message {
  if (r.kind === 'failed') {
    const reason = escapeMrkdwn(r.reason);
    return fitMessage({
      text: `Scheduled base backup FAILED: ${r.reason}`,
      blocks: [
        section(`:rotating_light: <!here> *The scheduled base backup of ${formatTime(r.slot)} FAILED:* ${reason}`),
        context([`Take one now with \`/recipedb pitr backup\` (\`/recipedb pitr\` shows the recoverable window); the next scheduled one is at ${formatTime(r.next)}.`]),
        measuredAt(r.failedAt),
      ],
    }, { notifyHere: true });
  }
  const expired = r.expired.length ? `pgBackRest's retention expired ${r.expired.map((l) => `\`${escapeMrkdwn(l)}\``).join(', ')}` : undefined;
  return fitMessage({
    text: `Scheduled base backup ${r.label} (${r.type}) taken`,
    blocks: [
      section(`:white_check_mark: Scheduled base backup \`${escapeMrkdwn(r.label)}\` (${r.type}) taken: ${formatBytes(r.deltaBytes)} copied, ${formatBytes(r.repoDeltaBytes)} stored, in ${formatDuration(r.durationMs)}`),
      context([[`slot ${formatTime(r.slot)}`, escapeMrkdwn(r.why), expired, `next ${formatTime(r.next)}`].filter((p): p is string => p !== undefined).join(' · ')]),
      measuredAt(r.finishedAt),
    ],
  });
}
