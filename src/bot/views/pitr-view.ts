/** `pitr` and `pitr backup`: the recoverable window, the base backups and WAL archiving. */
import { formatDuration } from '../../duration.js';
import { formatBytes, formatTime } from '../../format.js';
import type { PitrBackupListing, PitrBackupTaken, PitrOverview, PitrResult } from '../../handlers/pitr.js';
import { context, escapeMrkdwn, fitMessage, header, listWithMore, measuredAt, message, section, sectionFields, type Block, type Message } from '../blocks.js';

const MAX_BACKUPS_LISTED = 15;
const RESTORE_HINT = '`/recipedb restore --to-time <time>` (an ISO time with its offset, or e.g. `10m ago`) restores to a moment in the window';

export function pitrView(result: PitrResult): Message {
  if (result.kind === 'not-configured') return message(result.message, [section(`:information_source: ${escapeMrkdwn(result.message)}`)]);
  return result.kind === 'backup' ? backupTakenView(result) : overviewView(result);
}

function overviewView(r: PitrOverview): Message {
  const now = r.measuredAt.getTime();
  const blocks: Block[] = [header(`Point-in-time recovery · ${r.stanza}`), section(windowLine(r))];
  const archiver = r.archiver;
  const fields: string[] = [];
  if (archiver) {
    const last = archiver.lastArchivedAt ? `${escapeMrkdwn(archiver.lastArchivedWal ?? '?')} at ${formatTime(archiver.lastArchivedAt)} (${ago(now - archiver.lastArchivedAt.getTime())})` : 'nothing yet';
    const failed = archiver.lastFailedAt ? `${archiver.failedCount} · last ${escapeMrkdwn(archiver.lastFailedWal ?? '?')} at ${formatTime(archiver.lastFailedAt)}` : `${archiver.failedCount}`;
    fields.push(
      `*WAL archiving*\n${archiver.healthy ? ':white_check_mark: healthy' : `:x: ${escapeMrkdwn(archiver.problem ?? 'not working')}`}`,
      `*Last archived*\n${last}`,
      `*Failed*\n${failed}`,
      `*Writing now*\n${archiver.currentWal ? `${escapeMrkdwn(archiver.currentWal)} (timeline ${archiver.currentTimeline ?? '?'})` : 'in recovery'}${archiver.waitingSegments ? ` · ${archiver.waitingSegments} segments waiting to be archived` : ''}`,
    );
  } else {
    fields.push(`*WAL archiving*\n:warning: unknown: the database did not answer (${escapeMrkdwn(r.archiverProblem ?? '?')})`);
  }
  for (const archive of r.archives) fields.push(`*WAL archive ${escapeMrkdwn(archive.id)}*\n${escapeMrkdwn(archive.min ?? '—')} … ${escapeMrkdwn(archive.max ?? '—')}`);
  blocks.push(...sectionFields(fields));
  if (r.status.code !== 0) blocks.push(section(`:x: pgBackRest says the stanza is not ready: ${escapeMrkdwn(r.status.message)} (code ${r.status.code})`));
  if (r.backups.length) {
    const newestFirst = [...r.backups].reverse();
    blocks.push(section(`*Base backups (${r.backups.length})*\n${listWithMore(newestFirst, MAX_BACKUPS_LISTED, (b) => backupLine(b, now), 'backups').join('\n')}`));
  }
  const notes = [RESTORE_HINT];
  if (r.status.backupRunning) notes.unshift('a base backup is running now');
  if (r.history) notes.unshift(`the database is on timeline ${r.window?.timeline ?? '?'}, after a restore: recovery replays ${escapeMrkdwn(r.history)}`);
  blocks.push(context(notes), measuredAt(r.measuredAt));
  return fitMessage({ text: windowText(r), blocks });
}

function windowLine(r: PitrOverview): string {
  const w = r.window;
  if (w === null) return `:x: No recoverable window: ${escapeMrkdwn(r.windowProblem ?? 'unknown')}`;
  if (w.oldest === null) return ':x: No base backup yet, so nothing can be recovered: `/recipedb pitr backup --full` takes the first one.';
  if (w.newestIsNow) return `:white_check_mark: Recoverable from *${formatTime(w.oldest)}* to *now* (timeline ${w.timeline}).`;
  const newest = w.newest ? `*${formatTime(w.newest)}*` : 'an unknown point';
  return `:warning: Recoverable from *${formatTime(w.oldest)}* to ${newest} only: ${escapeMrkdwn(w.newestLimit ?? 'archiving is not working')}.`;
}

function windowText(r: PitrOverview): string {
  const w = r.window;
  if (w?.oldest) return `Recoverable from ${formatTime(w.oldest)} to ${w.newestIsNow ? 'now' : w.newest ? formatTime(w.newest) : 'an unknown point'}`;
  return 'No recoverable window';
}

function backupLine(b: PitrBackupListing, now: number): string {
  const warn = [!b.usable ? ' — :warning: from another timeline branch, not usable for the current one' : '', b.error ? ' — :warning: pgBackRest found page checksum errors' : ''].join('');
  return `• \`${escapeMrkdwn(b.label)}\` ${b.type} · ${formatTime(b.stoppedAt)} (${ago(now - b.stoppedAt.getTime())}) · took ${formatDuration(b.durationMs)} · ${formatBytes(b.deltaBytes)} copied, ${formatBytes(b.repoDeltaBytes)} stored · database ${formatBytes(b.sizeBytes)} · timeline ${b.timeline}${warn}`;
}

function backupTakenView(r: PitrBackupTaken): Message {
  const b = r.backup;
  const changed = r.requested !== b.type ? ` (asked for ${r.requested}; pgBackRest made it ${b.type}: there was no full backup to build on)` : '';
  const blocks: Block[] = [
    header('Base backup taken'),
    section(`:white_check_mark: \`${escapeMrkdwn(b.label)}\` · ${b.type}${changed}`),
    ...sectionFields([
      `*Copied*\n${formatBytes(b.deltaBytes)} of ${formatBytes(b.sizeBytes)}`,
      `*Stored*\n${formatBytes(b.repoDeltaBytes)} (the whole set ${formatBytes(b.repoSizeBytes)})`,
      `*Duration*\n${formatDuration(r.tookMs)}`,
      `*Timeline*\n${b.timeline}`,
    ]),
  ];
  if (r.expired.length) blocks.push(context([`pgBackRest's retention expired ${r.expired.map((l) => `\`${escapeMrkdwn(l)}\``).join(', ')}`]));
  if (r.window?.oldest) blocks.push(context([`Recoverable from ${formatTime(r.window.oldest)} to ${r.window.newestIsNow ? 'now' : r.window.newest ? formatTime(r.window.newest) : '?'} · ${RESTORE_HINT}`]));
  blocks.push(measuredAt(r.measuredAt));
  return fitMessage({ text: `Base backup ${b.label} (${b.type}) taken in ${formatDuration(r.tookMs)}`, blocks });
}

function ago(ms: number): string {
  return ms < 60_000 ? 'just now' : `${formatDuration(ms)} ago`;
}
