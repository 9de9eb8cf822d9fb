import type { LogLine, LogsResult, PodLogLines } from '../../handlers/logs.js';
import {
  codeBlock,
  context,
  escapeMrkdwn,
  fitMessage,
  header,
  LIMITS,
  measuredAt,
  message,
  section,
  truncateText,
  type Block,
  type Message,
} from '../blocks.js';

// What all pods' code blocks may take together, leaving room for headers in Slack's message size.
const LOG_BUDGET = 9_000;
const MAX_PODS = 5;
// A single huge line (a query dump) must not push every other line out of the message.
const MAX_LINE = 500;
const ERROR_MARK = '🔴 ';

export function logsView(result: LogsResult): Message {
  if (!result.configured) {
    const text = 'Kubernetes is not configured, so there are no pod logs to read: set KUBECONFIG, or run the bot in the cluster.';
    return message(text, [section(text)]);
  }
  const where = `${result.namespace}/${result.deployment}`;
  const scope = [
    ...(result.previous ? ['previous (crashed) container'] : []),
    result.grep === null ? `last ${result.lines} lines` : `last ${result.lines} lines containing "${result.grep}" (any case) among the newest ${result.scanLines} of each pod`,
    ...(result.since === null ? [] : [`since ${result.since} ago`]),
    `container ${result.container}`,
  ];
  const title = result.previous ? `Previous logs of ${where}` : `Logs of ${where}`;
  const blocks: Block[] = [header(title), context([escapeMrkdwn(scope.join(' · '))])];

  const shown = result.pods.slice(0, MAX_PODS);
  const perPod = Math.min(LIMITS.sectionText - 200, Math.floor(LOG_BUDGET / Math.max(1, shown.length)));
  for (const pod of shown) blocks.push(...podBlocks(pod, perPod, result.grep !== null));
  if (result.pods.length > shown.length) blocks.push(context([`… and ${result.pods.length - shown.length} more pods`]));
  blocks.push(measuredAt(result.measuredAt));

  const errors = result.pods.reduce((sum, p) => sum + p.lines.filter((l) => l.error).length, 0);
  const lines = result.pods.reduce((sum, p) => sum + p.lines.length, 0);
  return fitMessage({ text: `${title}: ${lines} lines, ${errors} ${errors === 1 ? 'error' : 'errors'}`, blocks });
}

function podBlocks(pod: PodLogLines, budget: number, grep: boolean): Block[] {
  const title = `*${escapeMrkdwn(pod.pod)}*`;
  if (pod.error !== null) return [section(`${title}: log unavailable — ${escapeMrkdwn(pod.error)}`)];
  if (pod.lines.length === 0) {
    return [section(`${title}: ${grep ? `no matching lines among the ${pod.scanned} read` : 'no log lines'}`)];
  }
  const { text, kept } = newestThatFit(pod.lines, budget);
  const errors = pod.lines.filter((l) => l.error).length;
  const errorsShown = pod.lines.slice(-kept).filter((l) => l.error).length;
  const summary = [
    `${pod.lines.length} ${pod.lines.length === 1 ? 'line' : 'lines'}`,
    errors === 0 ? 'no errors' : `${ERROR_MARK}${errors} ${errors === 1 ? 'error' : 'errors'} (ERROR/FATAL/PANIC)${errorsShown < errors ? `, ${errors - errorsShown} of them in the lines not shown (try --grep ERROR)` : ''}`,
    ...(kept < pod.lines.length ? [`newest ${kept} shown`] : []),
  ];
  return [section(`${title} — ${summary.join(' · ')}\n${codeBlock(text, budget)}`)];
}

/**
 * The newest lines that fit in `budget` characters once escaped for Slack, oldest first, with a
 * note on top when older ones were left out: the end of a log is what an operator looks for.
 */
function newestThatFit(lines: LogLine[], budget: number): { text: string; kept: number } {
  const fence = '```\n\n```'.length;
  const note = (n: number): string => `… ${n} earlier ${n === 1 ? 'line' : 'lines'} not shown`;
  const room = budget - fence - note(lines.length).length - 1;
  const rendered: string[] = [];
  let used = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = render(lines[i] as LogLine, room);
    if (used + line.length + 1 > room && rendered.length > 0) break;
    rendered.push(line);
    used += line.length + 1;
  }
  rendered.reverse();
  const cut = lines.length - rendered.length;
  return { text: [...(cut > 0 ? [note(cut)] : []), ...rendered].join('\n'), kept: rendered.length };
}

/**
 * One line, marked when it is an error, never longer than `max` once codeBlock has escaped it (cut
 * whole characters, never an entity).
 */
function render(line: LogLine, max: number): string {
  let limit = MAX_LINE;
  for (;;) {
    const text = `${line.error ? ERROR_MARK : ''}${truncateText(line.text, limit)}`;
    if (escapeMrkdwn(text).length <= max || limit <= 1) return text;
    limit = Math.floor(limit / 2);
  }
}
