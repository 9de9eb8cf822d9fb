/**
 * The answer of `vacuum` and `analyze` (no approval needed): the report of each statement, as the
 * approval request shows a gated operation's, and the tables left out.
 */
import type { CancelResult } from '../../handlers/maintenance-cancel.js';
import type { MaintenanceResult } from '../../handlers/table-maintenance.js';
import { codeBlock, context, escapeMrkdwn, fitMessage, header, listWithMore, measuredAt, mrkdwnText, section, type Block, type Message } from '../blocks.js';
import { procedureReportLines } from './procedure-report-view.js';

const MAX_SKIPPED = 10;

export function maintenanceView(result: MaintenanceResult): Message {
  const { report } = result;
  const blocks: Block[] = [
    header(`${result.title}: ${report.ok ? 'done' : 'not finished'}`),
    section(`${report.ok ? ':white_check_mark:' : ':x:'} ${mrkdwnText(report.summary)}`),
  ];
  const lines = procedureReportLines(report);
  if (lines.length) blocks.push(section(codeBlock(lines.join('\n'), 2_900)));
  if (result.skipped.length) {
    const names = listWithMore(result.skipped, MAX_SKIPPED, (n) => `\`${escapeMrkdwn(n)}\``, 'tables');
    blocks.push(context([`Left out, not owned by the bot's database role: ${names.join(', ')}`]));
  }
  blocks.push(measuredAt(result.measuredAt));
  return fitMessage({ text: `${result.title}: ${report.summary}`, blocks });
}

/** What the person who cancelled is told, in one sentence; `outcome` says where the outcome shows. */
export function cancelAnswer(result: CancelResult, outcome: string): string {
  if (result.kind === 'denied') return result.reason;
  return `Cancelling ${result.run.summary}: the running statement is stopped and no further one starts. ${outcome}`;
}
