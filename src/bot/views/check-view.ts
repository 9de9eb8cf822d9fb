/**
 * The answer of `check`: clean or not in one line, then each corrupt index with the command that
 * repairs it, each corrupt table, what could not be checked, and the checksum figures.
 */
import type { CheckResult } from '../../handlers/check.js';
import { formatDuration } from '../../duration.js';
import { formatCount, formatTime } from '../../format.js';
import { codeBlock, context, escapeMrkdwn, fitMessage, header, listWithMore, measuredAt, section, type Block, type Message } from '../blocks.js';
import { checkSummary } from '../../handlers/check.js';

const MAX_LISTED = 10;

export function checkView(r: CheckResult): Message {
  const scope = r.table ? ` of ${r.table}` : '';
  const blocks: Block[] = [header(`Integrity check${scope}`)];
  const corrupt = r.corruptIndexes.length + r.corruptTables.length > 0 || (r.checksums.failures ?? 0) > 0;
  if (r.amcheckMissing) {
    blocks.push(section(`:warning: ${escapeMrkdwn(r.amcheckMissing)}`));
  } else {
    const icon = corrupt ? ':x:' : r.stopped || r.notChecked.length ? ':warning:' : ':large_green_circle:';
    const checked = `${formatCount(r.indexes.checked)} of ${formatCount(r.indexes.total)} B-tree indexes${r.heap ? ` and ${formatCount(r.tables.checked)} of ${formatCount(r.tables.total)} tables` : ''} checked in ${formatDuration(r.tookMs)}`;
    blocks.push(section(`${icon} *${escapeMrkdwn(corrupt ? 'Corruption found' : r.stopped ? `Stopped: ${r.stopped}` : 'Clean')}* · ${checked}`));
  }
  if (r.corruptIndexes.length) {
    const lines = listWithMore(r.corruptIndexes, MAX_LISTED, (i) => `• \`${escapeMrkdwn(`${i.schema}.${i.name}`)}\` on ${escapeMrkdwn(i.table)}: ${escapeMrkdwn(i.problem)}`);
    const repairs = [...new Set(r.corruptIndexes.map((i) => i.repair))];
    blocks.push(
      section(`*Corrupt indexes* — queries using them may return wrong rows\n${lines.join('\n')}`),
      section(`*To repair* (rebuilt concurrently from the table, after approval):\n${codeBlock(repairs.slice(0, MAX_LISTED).join('\n'))}`),
    );
  }
  if (r.corruptTables.length) {
    const lines = listWithMore(r.corruptTables, MAX_LISTED, (t) =>
      [`• \`${escapeMrkdwn(`${t.schema}.${t.name}`)}\` ${formatCount(t.problems)} ${t.problems === 1 ? 'problem' : 'problems'}`, ...t.first.map((p) => `   ${escapeMrkdwn(p)}`)].join('\n'),
    );
    blocks.push(
      section(`*Corrupt tables*\n${lines.join('\n')}`),
      context(['A table cannot be rebuilt from itself: restore it from a backup (`/recipedb backups`) and ask a DBA before anything else touches it (its indexes may still be fine).']),
    );
  }
  if (r.notChecked.length) {
    const lines = listWithMore(r.notChecked, MAX_LISTED, (n) => `• ${escapeMrkdwn(n.what)}: ${escapeMrkdwn(n.reason)}`);
    blocks.push(section(`*Not checked*\n${lines.join('\n')}`));
  }
  const { checksums } = r;
  blocks.push(
    context([
      checksums.enabled
        ? `Data checksums: on · ${formatCount(checksums.failures ?? 0)} checksum failures in this database${checksums.lastFailure ? `, the last at ${formatTime(checksums.lastFailure)}` : ''}`
        : 'Data checksums: off — a damaged table page is found only by `check --heap`; turning them on needs pg_checksums with the server stopped',
    ]),
    measuredAt(r.measuredAt),
  );
  return fitMessage({ text: capitalize(checkSummary(r)), blocks });
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
