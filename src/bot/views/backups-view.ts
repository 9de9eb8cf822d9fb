import type { BackupListing, BackupsResult } from '../../handlers/backups.js';
import { formatDuration } from '../../duration.js';
import { context, escapeMrkdwn, fitMessage, header, listWithMore, measuredAt, section, type Block, type Message } from '../blocks.js';
import { formatBytes } from '../../format.js';

const MAX_LISTED = 20;

const VERIFICATION: Record<BackupListing['verification'], string> = {
  verified: ':white_check_mark: verified',
  failed: ':x: failed verification',
  never: 'not verified',
};

const MAX_PITR_LISTED = 5;

export function backupsView(result: BackupsResult): Message {
  const dir = escapeMrkdwn(result.dir);
  if (result.backups.length === 0) {
    return fitMessage({
      text: `No backups in ${result.dir} yet`,
      blocks: [header('Backups'), section(`No backups in ${dir} yet. \`/recipedb backup\` takes one.`), ...pitrBlocks(result), measuredAt(result.measuredAt)],
    });
  }
  const now = result.measuredAt.getTime();
  const lines = listWithMore(
    result.backups,
    MAX_LISTED,
    (b) => `• \`${escapeMrkdwn(b.name)}\` · ${formatBytes(b.sizeBytes)} · ${age(now - b.takenAt.getTime())} · ${standing(b)}`,
    'backups',
  );
  const total = result.backups.reduce((sum, b) => sum + b.sizeBytes, 0);
  const count = result.backups.length;
  return fitMessage({
    text: `${count} ${count === 1 ? 'backup' : 'backups'}, the newest ${age(now - (result.backups[0]?.takenAt.getTime() ?? now))}`,
    blocks: [
      header(`Backups (${count})`),
      section(lines.join('\n')),
      context([`In ${dir} · ${formatBytes(total)} in all · kept ${result.retentionDays} days (the newest always) · \`${escapeMrkdwn('/recipedb backup verify <name|latest>')}\` proves one restores`]),
      ...pitrBlocks(result),
      measuredAt(result.measuredAt),
    ],
  });
}

/** Verified or not for a file the bot may use; otherwise what it takes to use it. */
function standing(b: BackupListing): string {
  const importIt = `\`backup import ${escapeMrkdwn(b.name)}\` to use it`;
  if (b.trust === 'outside') return `:warning: not written by the bot — ${importIt}`;
  if (b.trust === 'changed') return `:warning: not the file the bot recorded under this name — ${importIt}`;
  return `${VERIFICATION[b.verification]}${b.trust === 'imported' ? ' · imported' : ''}`;
}

function age(ms: number): string {
  return ms < 60_000 ? 'just now' : `${formatDuration(ms)} ago`;
}

/** pgBackRest's base backups, newest first: what `restore --to-time` starts from. */
function pitrBlocks(result: BackupsResult): Block[] {
  const pitr = result.pitr;
  if (pitr === undefined) return [];
  if ('problem' in pitr) return [section(`*Base backups (pgBackRest, ${escapeMrkdwn(pitr.stanza)})*\n:warning: could not be listed: ${escapeMrkdwn(pitr.problem)}`)];
  const now = result.measuredAt.getTime();
  const newestFirst = [...pitr.backups].reverse();
  const lines = newestFirst.length
    ? listWithMore(newestFirst, MAX_PITR_LISTED, (b) => `• \`${b.label}\` · ${b.type} · database ${formatBytes(b.sizeBytes)}, ${formatBytes(b.repoDeltaBytes)} stored · ${age(now - b.stoppedAt.getTime())}`, 'base backups')
    : ['none yet: `/recipedb pitr backup --full` takes the first'];
  return [section(`*Base backups (pgBackRest, ${escapeMrkdwn(pitr.stanza)}, ${pitr.backups.length})*\n${lines.join('\n')}`), context(['For point-in-time recovery: `/recipedb pitr` shows the recoverable window'])];
}
