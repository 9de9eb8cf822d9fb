import type { ServerStatus } from '../../ops/postgres/server-status.js';
import type { StatusResult, Verdict } from '../../handlers/status.js';
import { formatDuration } from '../../duration.js';
import { codeBlock, context, header, measuredAt, section, sectionFields, truncateText, type Block, type Message } from '../blocks.js';
import { formatBytes, formatCount, formatPercent } from './format.js';

const VERDICT_ICON: Record<Verdict, string> = { OK: ':large_green_circle:', WARN: ':warning:', DOWN: ':red_circle:' };

export function statusView(result: StatusResult): Message {
  const verdictLine = `${VERDICT_ICON[result.verdict]} *${result.verdict}*${result.reasons.length ? ` — ${result.reasons.join('; ')}` : ' — all checks pass'}`;
  const blocks: Block[] = [header('Recipe Database status'), section(verdictLine)];
  if (result.postgres.ok) {
    blocks.push(...postgresBlocks(result.postgres.data));
  } else {
    blocks.push(section(`*PostgreSQL:* down — ${result.postgres.reason}`));
  }
  blocks.push(measuredAt(result.measuredAt));
  return { text: `Recipe Database: ${result.verdict}${result.reasons[0] ? ` — ${result.reasons[0]}` : ''}`, blocks };
}

function postgresBlocks(s: ServerStatus): Block[] {
  const connections = s.connections.map((c) => `${c.state} ${c.count}`).join(', ') || 'none';
  const blocks: Block[] = [
    ...sectionFields([
      `*PostgreSQL*\nup · ${s.version}`,
      `*Uptime*\n${formatDuration(s.uptimeSeconds * 1000)}`,
      `*Connections*\n${s.totalConnections} / ${s.maxConnections} (${connections})`,
      `*Idle in transaction*\n${s.idleInTransaction}`,
      `*Cache hit*\ntables ${formatPercent(s.cacheHitRatio.tables)} · indexes ${formatPercent(s.cacheHitRatio.indexes)}`,
      `*Transactions*\n${formatCount(s.commits)} commits · ${formatCount(s.rollbacks)} rollbacks · ${s.deadlocks} deadlocks`,
      `*Database size*\n${formatBytes(s.databaseSizeBytes)} (${s.database})`,
      `*Locks*\n${s.locks.granted} held · ${s.locks.waiting} waiting · ${s.blockedQueries} blocked`,
    ]),
  ];
  const t = s.longestTransaction;
  if (t) {
    blocks.push(section(`*Longest transaction:* pid ${t.pid}, ${formatDuration(t.seconds * 1000)}, ${t.state || 'unknown state'}\n${codeBlock(truncateText(t.query, 500))}`));
  }
  if (s.isReplica || s.replication.length) {
    const replicas = s.replication.map((r) => `${r.clientAddr ?? 'local'} ${r.state}${r.lagBytes !== null ? ` (lag ${formatBytes(r.lagBytes)})` : ''}`);
    blocks.push(context([s.isReplica ? 'This server is a replica' : `Replication: ${replicas.join(', ')}`]));
  }
  return blocks;
}
