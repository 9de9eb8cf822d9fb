import type { AuditResult } from '../../handlers/audit.js';
import { actorMention, context, fitMessage, header, measuredAt, message, mrkdwnText, section, type Message } from '../blocks.js';
import { formatTime } from '../../format.js';

export function auditView(result: AuditResult): Message {
  if (!result.entries.length) {
    return message('The audit log is empty.', [section('The audit log is empty.'), measuredAt(result.measuredAt)]);
  }
  const lines = result.entries.map(
    (e) => `\`${formatTime(e.at)}\` ${actorMention(e.actor)} *${e.kind}* ${mrkdwnText(e.summary)}${e.requestId ? ` (\`${e.requestId}\`)` : ''}`,
  );
  // Several sections, because one section holds at most 3,000 characters.
  const chunks: string[] = [];
  for (const line of lines) {
    const last = chunks.at(-1);
    if (last !== undefined && last.length + line.length + 1 < 2_900) chunks[chunks.length - 1] = `${last}\n${line}`;
    else chunks.push(line.slice(0, 2_900));
  }
  return fitMessage({
    text: `Audit log: last ${result.entries.length} entries`,
    blocks: [header(`Audit log: last ${result.entries.length} entries`), ...chunks.map(section), context(['Newest first.']), measuredAt(result.measuredAt)],
  });
}
