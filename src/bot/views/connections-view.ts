import type { ConnectionUsage, ConnectionsFromClient, IdleInTransactionSession } from '../../ops/postgres/connections.js';
import type { ConnectionsResult } from '../../handlers/connections.js';
import { formatDuration } from '../../duration.js';
import { escapeMrkdwn, fitMessage, header, listWithMore, measuredAt, section, sectionFields, type Block, type Message, sqlSnippet } from '../blocks.js';
import { formatCount, formatPercent } from '../../format.js';
import { reservedSessionNote } from './reserved-session-note.js';

const MAX_CLIENTS = 15;
const MAX_IDLE_SHOWN = 5;

export function connectionsView(result: ConnectionsResult): Message {
  const u = result.usage;
  const blocks: Block[] = [
    header('Connections'),
    ...sectionFields([
      `*In use*\n${formatCount(u.total)} / ${formatCount(u.maxConnections)} (${formatPercent(u.total / u.maxConnections)})`,
      `*Free*\n${freeText(u)}`,
      `*By state*\n${u.byState.map((s) => `${escapeMrkdwn(s.state)} ${s.count}`).join(' · ') || 'none'}`,
      `*Idle in transaction*\n${u.idleInTransactionCount}`,
    ]),
    section(`*By client*\n${[...listWithMore(u.byClient, MAX_CLIENTS, (c) => clientLine(c, u.database), 'clients'), ...botLine(u)].join('\n') || 'none'}`),
    ...idleBlocks(u),
    ...reservedSessionNote(result.viaReservedSession),
    measuredAt(result.measuredAt),
  ];
  const longestIdle = u.idleInTransaction[0];
  const idleText = longestIdle ? `; longest idle in transaction: pid ${longestIdle.pid}, ${formatDuration(longestIdle.idleMs)}` : '';
  return fitMessage({ text: `${u.total} of ${u.maxConnections} connections in use${idleText}`, blocks });
}

function botLine(u: ConnectionUsage): string[] {
  return u.botSessions > 0 ? [`• *${u.botSessions}* this bot's own sessions (its pools and reserved session)`] : [];
}

function freeText(u: ConnectionUsage): string {
  const reserved = [`${u.superuserReserved} only for superusers`];
  if (u.roleReserved > 0) reserved.push(`${u.roleReserved} only for pg_use_reserved_connections`);
  return `${formatCount(Math.max(0, u.maxConnections - u.total))}, of which ${reserved.join(' and ')}`;
}

function clientLine(c: ConnectionsFromClient, currentDatabase: string): string {
  const parts = [c.user ?? 'unknown user', c.application || 'no application name', c.clientAddr ?? 'local socket'];
  // Other databases share the server's slots, so they are listed, but marked.
  if (c.database !== null && c.database !== currentDatabase) parts.push(`database ${c.database}`);
  return `• *${c.count}* ${escapeMrkdwn(parts.join(' · '))}`;
}

function idleBlocks(u: ConnectionUsage): Block[] {
  if (u.idleInTransaction.length === 0) return [section('No session is idle in a transaction.')];
  const rest = u.idleInTransactionCount - Math.min(u.idleInTransaction.length, MAX_IDLE_SHOWN);
  const lines = u.idleInTransaction.slice(0, MAX_IDLE_SHOWN).map((s) => idleEntry(s, u.database));
  if (rest > 0) lines.push(`… and ${rest} more`);
  return [section(`*Longest idle in transaction*\n${lines.join('\n')}`)];
}

function idleEntry(s: IdleInTransactionSession, currentDatabase: string): string {
  const parts = [s.user ?? 'unknown user', s.application || 'no application name'];
  if (s.database !== null && s.database !== currentDatabase) parts.push(`database ${s.database}`);
  const aborted = s.state.endsWith('(aborted)') ? ' (aborted)' : '';
  const last = sqlSnippet(s.query, 200);
  return `*pid ${s.pid}* · idle *${formatDuration(s.idleMs)}*${aborted} · ${escapeMrkdwn(parts.join(' · '))}\n${last}`;
}
