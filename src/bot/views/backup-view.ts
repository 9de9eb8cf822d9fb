import type { BackupCommandResult, BackupTaken, BackupVerified } from '../../handlers/backup.js';
import { formatDuration } from '../../duration.js';
import { context, escapeMrkdwn, fitMessage, header, listWithMore, measuredAt, section, sectionFields, type Block, type Message } from '../blocks.js';
import { formatBytes, formatCount } from '../../format.js';

const MAX_DELETED_LISTED = 5;

export function backupView(result: BackupCommandResult): Message {
  return result.kind === 'verify' ? verifyView(result) : takenView(result);
}

function takenView(r: BackupTaken): Message {
  const ratio = r.sizeBytes > 0 ? ` (dump ${formatBytes(r.dumpBytes)}, ${(r.dumpBytes / r.sizeBytes).toFixed(1)}× smaller)` : '';
  const counts = Object.entries(r.rowCounts).map(([table, rows]) => `${escapeMrkdwn(table)} ${rows === null ? 'missing' : formatCount(rows)}`);
  const blocks: Block[] = [
    header('Backup written'),
    section(`:white_check_mark: \`${escapeMrkdwn(r.name)}\``),
    ...sectionFields([
      `*Size*\n${formatBytes(r.sizeBytes)}${ratio}`,
      `*Duration*\n${formatDuration(r.durationMs)} · ${formatBytes(r.throughput)}/s`,
      ...(counts.length ? [`*Rows at backup time*${r.rowCountsTaken === 'separately' ? ' (counted alongside the dump)' : ''}\n${counts.join(' · ')}`] : []),
    ]),
  ];
  const retention = r.deleted.length
    ? `Retention (${r.retentionDays} days) deleted ${r.deleted.length} old ${r.deleted.length === 1 ? 'backup' : 'backups'}: ${listWithMore(r.deleted, MAX_DELETED_LISTED, (n) => `\`${escapeMrkdwn(n)}\``, 'backups').join(', ')}`
    : `Retention (${r.retentionDays} days): no backup old enough to delete`;
  blocks.push(context([retention]));
  if (r.warnings.length) blocks.push(section(r.warnings.map((w) => `:warning: ${escapeMrkdwn(w)}`).join('\n')));
  blocks.push(
    context([`In ${escapeMrkdwn(r.dir)} · SHA-256 ${r.sha256.slice(0, 16)}… · not verified yet: \`/recipedb backup verify ${escapeMrkdwn(r.name)}\``]),
    measuredAt(r.measuredAt),
  );
  return fitMessage({ text: `Backup ${r.name} written: ${formatBytes(r.sizeBytes)} in ${formatDuration(r.durationMs)}`, blocks });
}

function verifyView(r: BackupVerified): Message {
  const v = r.verification;
  const name = `\`${escapeMrkdwn(v.name)}\``;
  const blocks: Block[] = [header(v.ok ? 'Backup verified' : 'Backup verification failed')];
  blocks.push(
    section(
      v.ok
        ? `:white_check_mark: ${name} restores, and ${v.checks.some((c) => c.atBackup !== undefined) ? 'its row counts match those at backup time' : 'its tables hold rows (no counts were recorded at backup time to compare)'}.`
        : `:x: ${name} failed verification:\n${v.problems.map((p) => `• ${escapeMrkdwn(p)}`).join('\n')}`,
    ),
  );
  if (v.checks.length) {
    blocks.push(
      ...sectionFields(
        v.checks.map((c) => {
          const mark = c.matches === true ? ':white_check_mark: ' : c.matches === false ? ':x: ' : '';
          const restored = c.restored === null ? 'missing' : `${formatCount(c.restored)} rows`;
          const atBackup = c.atBackup === undefined ? '' : ` (${c.atBackup === null ? 'no table' : formatCount(c.atBackup)} at backup time)`;
          return `*${escapeMrkdwn(c.table)}*\n${mark}${restored}${atBackup}`;
        }),
      ),
    );
  }
  const phases = [`integrity ${formatDuration(v.phases.integrityMs)}`];
  if (v.phases.restoreMs !== undefined) phases.push(`restore into a scratch database ${formatDuration(v.phases.restoreMs)}`);
  if (v.phases.countMs !== undefined) phases.push(`counts ${formatDuration(v.phases.countMs)}`);
  blocks.push(context([`${phases.join(' · ')} · total ${formatDuration(v.durationMs)}${v.scratchDatabase ? ` · scratch database ${escapeMrkdwn(v.scratchDatabase)} dropped` : ''}`]));
  if (v.warnings.length) blocks.push(section(v.warnings.map((w) => `:warning: ${escapeMrkdwn(w)}`).join('\n')));
  blocks.push(measuredAt(r.measuredAt));
  const text = v.ok ? `Backup ${v.name} verified` : `Backup ${v.name} failed verification: ${v.problems[0] ?? ''}`;
  return fitMessage({ text, blocks });
}
