import type { ActiveQuery } from '../../ops/postgres/activity.js';
import type { ActiveResult } from '../../handlers/active.js';
import { formatDuration } from '../../duration.js';
import { reservedSessionNote } from './reserved-session-note.js';
import { escapeMrkdwn, fitMessage, header, listWithMore, measuredAt, section, type Block, type Message, sqlSnippet } from '../blocks.js';

const MAX_SHOWN = 20;
// Shared by all query texts so that MAX_SHOWN sessions still fit one message.
const QUERY_TEXT_BUDGET = 6_000;

export function activeView(result: ActiveResult): Message {
  const { queries, olderThanMs } = result;
  const over = olderThanMs === null ? '' : ` longer than ${formatDuration(olderThanMs)}`;
  const blocks: Block[] = [header(olderThanMs === null ? 'Active queries' : `Active queries running${over}`)];
  if (queries.length === 0) {
    const empty = `No queries running${over || ' right now'}.`;
    blocks.push(section(`:large_green_circle: ${empty}`), ...reservedSessionNote(result.viaReservedSession), measuredAt(result.measuredAt));
    return fitMessage({ text: empty, blocks });
  }
  const queryChars = Math.max(100, Math.min(500, Math.floor(QUERY_TEXT_BUDGET / Math.min(queries.length, MAX_SHOWN))));
  const entries = listWithMore(queries, MAX_SHOWN, (q) => activeEntry(q, queryChars), queries.length - MAX_SHOWN === 1 ? 'query' : 'queries');
  blocks.push(...entries.map(section), ...reservedSessionNote(result.viaReservedSession), measuredAt(result.measuredAt));
  const longest = queries[0] as ActiveQuery;
  const count = `${queries.length} ${queries.length === 1 ? 'query' : 'queries'} running${over}`;
  return fitMessage({ text: `${count}, longest ${formatDuration(longest.durationMs ?? NaN)} (pid ${longest.pid})`, blocks });
}

function activeEntry(q: ActiveQuery, queryChars: number): string {
  const facts = [`*pid ${q.pid}*`, `*${formatDuration(q.durationMs ?? NaN)}*`, escapeMrkdwn(q.state)];
  if (q.state.startsWith('idle in transaction') && q.transactionMs !== null) {
    facts.push(`transaction open ${formatDuration(q.transactionMs)}`);
  }
  if (q.waitEvent) facts.push(`waiting on ${escapeMrkdwn(q.waitEvent)}`);
  const who = [q.user ?? 'unknown user', q.application, q.clientAddr ?? 'local socket'].filter((part) => part !== '');
  return `${facts.join(' · ')}\n${escapeMrkdwn(who.join(' · '))}\n${sqlSnippet(q.query, queryChars)}`;
}

