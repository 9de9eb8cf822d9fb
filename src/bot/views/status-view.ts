import type { ServerStatus } from '../../ops/postgres/server-status.js';
import type { ContainerUse, DatabasePod, DatabasePods, ResourceUse } from '../../ops/kube/database-pods.js';
import type { ExporterMetrics } from '../../ops/exporter/exporter-metrics.js';
import { digestOf, shortDigest } from '../../ops/kube/image-reference.js';
import type { NodeConditions } from '../../ops/kube/node-conditions.js';
import type { ServiceEndpoints } from '../../ops/kube/service-endpoints.js';
import type { WarningEvents } from '../../ops/kube/warning-events.js';
import { eventLine } from './events-view.js';
import type { SourceResult, StatusResult, Verdict } from '../../handlers/status.js';
import type { StatusTrend } from '../../handlers/status-trend.js';
import { formatDuration } from '../../duration.js';
import {
  codeBlock,
  context,
  escapeMrkdwn,
  fitMessage,
  header,
  listWithMore,
  measuredAt,
  section,
  sectionFields,
  truncateText,
  type Block,
  type Message,
} from '../blocks.js';
import { formatBytes, formatCount, formatCpu, formatMemory, formatPercent, formatShare } from '../../format.js';
import { reservedSessionNote } from './reserved-session-note.js';

const VERDICT_ICON: Record<Verdict, string> = { OK: ':large_green_circle:', WARN: ':warning:', DOWN: ':red_circle:' };

// A database deployment has one or two pods; more than this and the rest are counted, not listed.
const MAX_PODS = 6;
const MAX_BUSINESS_METRICS = 12;
const MAX_REASONS = 8;
const MAX_WARNINGS = 5;
const MAX_ADDRESSES = 4;

export function statusView(result: StatusResult): Message {
  const blocks: Block[] = [header('Recipe Database status'), section(statusVerdictLine(result))];
  if (result.postgres.ok) {
    blocks.push(...postgresBlocks(result.postgres.data, result.trend), ...reservedSessionNote(result.viaReservedSession));
  } else {
    blocks.push(section(`*PostgreSQL:* down — ${escapeMrkdwn(result.postgres.reason)}`));
  }

  const notes: string[] = [];
  if (result.kubernetes === null) notes.push('Kubernetes: not configured');
  else if (!result.kubernetes.ok) blocks.push(section(`Kubernetes: unavailable — ${escapeMrkdwn(result.kubernetes.reason)}`));
  else {
    blocks.push(...podBlocks(result.kubernetes.data, result.measuredAt));
    // Only beside an answering pod list: when Kubernetes does not answer, its one line above says it all.
    if (result.service !== null) blocks.push(serviceBlock(result.service));
    blocks.push(...nodeBlocks(result.nodes));
    if (result.verdict !== 'OK' && result.warnings !== null) blocks.push(...warningBlocks(result.warnings, result.measuredAt));
  }

  if (result.exporter === null) notes.push('Exporter: not configured (EXPORTER_URL)');
  else if (!result.exporter.ok) blocks.push(section(`Exporter: unavailable — ${escapeMrkdwn(result.exporter.reason)}`));
  else blocks.push(...exporterBlocks(result.exporter.data));

  if (notes.length > 0) blocks.push(context(notes));
  blocks.push(measuredAt(result.measuredAt));
  return fitMessage({ text: `Recipe Database: ${result.verdict}${result.reasons[0] ? ` — ${result.reasons[0]}` : ''}`, blocks });
}

/** ":warning: *WARN* — why": the verdict and its reasons, worst first (also the App Home's first line). */
export function statusVerdictLine(result: StatusResult): string {
  const reasons = listWithMore(result.reasons, MAX_REASONS, escapeMrkdwn, 'findings').join('; ');
  // A source that did not answer is its own line below; the verdict only admits it was not judged.
  const unanswered = [result.kubernetes, result.exporter].some((source) => source !== null && !source.ok);
  const allPass = unanswered ? ' — the checks that could run pass' : ' — all checks pass';
  return `${VERDICT_ICON[result.verdict]} *${result.verdict}*${result.reasons.length ? ` — ${reasons}` : allPass}`;
}

function postgresBlocks(s: ServerStatus, trend: StatusTrend | null): Block[] {
  const connections = s.connections.map((c) => `${c.state} ${c.count}`).join(', ') || 'none';
  const connectionsTrend = trend?.connections ? ` · ${signed(trend.connections.delta, formatCount)} in ${trend.connections.minutes} min` : '';
  const sizeTrend = trend?.size ? ` · ${signed(trend.size.deltaBytes, formatBytes)} in ${trend.size.hours} h` : '';
  const blocks: Block[] = [
    ...sectionFields([
      `*PostgreSQL*\nup · ${escapeMrkdwn(s.version)}`,
      `*Uptime*\n${formatDuration(s.uptimeSeconds * 1000)}`,
      // max_connections is the server's: its slots are judged, and this database's share shown beside.
      `*Connections*\n${s.totalConnections} / ${s.maxConnections} on the server${connectionsTrend} (${connections}) · ${s.databaseConnections} in ${escapeMrkdwn(s.database)} · the bot's own ${s.botConnections}`,
      `*Idle in transaction*\n${s.idleInTransaction}`,
      `*Cache hit*\ntables ${formatPercent(s.cacheHitRatio.tables)} · indexes ${formatPercent(s.cacheHitRatio.indexes)}`,
      `*Transactions*\n${formatCount(s.commits)} commits · ${formatCount(s.rollbacks)} rollbacks · ${s.deadlocks} deadlocks`,
      `*Database size*\n${formatBytes(s.databaseSizeBytes)}${sizeTrend} (${escapeMrkdwn(s.database)})`,
      `*Locks*\n${s.locks.granted} held · ${s.locks.waiting} waiting · ${s.blockedQueries} blocked · the bot's own ${s.botLocks}`,
    ]),
  ];
  const t = s.longestTransaction;
  if (t) {
    blocks.push(section(`*Longest transaction:* pid ${t.pid}, ${formatDuration(t.seconds * 1000)}, ${escapeMrkdwn(t.state || 'unknown state')}\n${codeBlock(truncateText(t.query, 500))}`));
  } else {
    blocks.push(section('*Longest transaction:* none open'));
  }
  if (s.isReplica || s.replication.length) {
    const replicas = s.replication.map((r) => `${r.clientAddr ?? 'local'} ${r.state}${r.lagBytes !== null ? ` (lag ${formatBytes(r.lagBytes)})` : ''}`);
    blocks.push(context([s.isReplica ? 'This server is a replica' : `Replication: ${replicas.join(', ')}`]));
  }
  return blocks;
}

function podBlocks(data: DatabasePods, now: Date): Block[] {
  const title = `*Pods* of ${data.namespace}/${data.deployment}`;
  if (data.pods.length === 0) return [section(`${title}: none — the deployment has no pods`)];
  const lines = listWithMore(data.pods, MAX_PODS, (pod) => podLines(pod, now), 'pods');
  const blocks: Block[] = [section(`${title}\n${lines.join('\n')}`)];
  if (data.metricsUnavailable !== null) blocks.push(context([`CPU and memory n/a: ${escapeMrkdwn(data.metricsUnavailable)}`]));
  return blocks;
}

function podLines(pod: DatabasePod, now: Date): string {
  const state = pod.phase === 'Running' && pod.reason === null ? 'Running' : `${pod.phase}${pod.reason ? ` (${pod.reason})` : ''}`;
  const flag = pod.phase !== 'Running' ? ':red_circle: ' : pod.readyContainers < pod.totalContainers || pod.restarts > 0 ? ':warning: ' : '';
  const age = pod.startedAt === null ? 'age n/a' : `age ${formatDuration(Math.max(0, now.getTime() - pod.startedAt.getTime()))}`;
  const head = [
    `${flag}*${pod.name}*`,
    state,
    `ready ${pod.readyContainers}/${pod.totalContainers}`,
    `${pod.restarts} ${pod.restarts === 1 ? 'restart' : 'restarts'}`,
    age,
    pod.node === null ? 'not scheduled' : `node ${escapeMrkdwn(pod.node)}`,
  ].join(' · ');
  return [head, ...pod.containers.map((c) => containerLine(c, now))].join('\n');
}

function containerLine(c: ContainerUse, now: Date): string {
  const image = c.image === null ? '' : ` · image \`${escapeMrkdwn(c.image)}\` (${shortDigest(digestOf(c.imageId))})`;
  const lines = [`   ◦ ${escapeMrkdwn(c.name)}: CPU ${usage(c.cpu, formatCpu)} · memory ${usage(c.memory, formatMemory)}${image}`];
  if (c.waiting !== null) {
    lines.push(`      :warning: waiting: *${escapeMrkdwn(c.waiting.reason)}*${c.waiting.message ? ` — ${escapeMrkdwn(truncateText(c.waiting.message, 200))}` : ''}`);
  }
  const t = c.lastTermination;
  if (t !== null) {
    const when = t.finishedAt === null ? '' : ` ${formatDuration(Math.max(0, now.getTime() - t.finishedAt.getTime()))} ago`;
    const ran = t.startedAt !== null && t.finishedAt !== null ? ` after running ${formatDuration(Math.max(0, t.finishedAt.getTime() - t.startedAt.getTime()))}` : '';
    const flag = t.reason === 'OOMKilled' ? ':red_circle: ' : '';
    const signal = t.signal !== null ? `, signal ${t.signal}` : '';
    lines.push(`      ${flag}last terminated${when}: *${escapeMrkdwn(t.reason ?? 'unknown reason')}* (exit code ${t.exitCode ?? '?'}${signal})${ran}`);
  }
  return lines.join('\n');
}

function serviceBlock(service: SourceResult<ServiceEndpoints>): Block {
  if (!service.ok) return context([`Service endpoints: unavailable — ${escapeMrkdwn(service.reason)}`]);
  const s = service.data;
  const address = (a: { ip: string; pod: string | null }): string => `${a.ip}${a.pod ? ` (${escapeMrkdwn(a.pod)})` : ''}`;
  const ports = s.ports.length > 0 ? ` · port ${s.ports.join(', ')}` : '';
  const notReady = s.notReady.length > 0 ? ` · not ready: ${listWithMore(s.notReady, MAX_ADDRESSES, address, 'addresses').join(', ')}` : '';
  if (s.ready.length === 0) {
    return section(`:red_circle: *Service* ${escapeMrkdwn(s.service)}: *no ready endpoints* — the application cannot connect${notReady}${ports}`);
  }
  return section(`*Service* ${escapeMrkdwn(s.service)}: ready ${listWithMore(s.ready, MAX_ADDRESSES, address, 'addresses').join(', ')}${notReady}${ports}`);
}

function nodeBlocks(nodes: NodeConditions[]): Block[] {
  if (nodes.length === 0) return [];
  const lines = nodes.map((n) => {
    if (!n.ok) return `Node ${escapeMrkdwn(n.name)}: unavailable — ${escapeMrkdwn(n.reason)}`;
    const problems = [
      ...(n.ready ? [] : [`:warning: not Ready (${escapeMrkdwn(n.notReadyReason ?? 'no reason given')})`]),
      ...n.pressures.map((p) => `:warning: ${p.type}${p.message ? ` (${escapeMrkdwn(p.message)})` : ''}`),
    ];
    return `Node ${escapeMrkdwn(n.name)}: ${problems.length > 0 ? problems.join(' · ') : 'Ready, no memory, disk or PID pressure'}`;
  });
  return [context(lines)];
}

function warningBlocks(warnings: SourceResult<WarningEvents>, now: Date): Block[] {
  if (!warnings.ok) return [context([`Warning events: unavailable — ${escapeMrkdwn(warnings.reason)}`])];
  if (warnings.data.events.length === 0) return [];
  const lines = listWithMore(warnings.data.events, MAX_WARNINGS, (e) => eventLine(e, now), 'events');
  return [section(`*Recent warning events* (last hour; \`events\` lists them all)\n${lines.join('\n')}`)];
}

/** `120m (48% of 250m request, 12% of 1 core limit)`: what the scheduler promised, and what throttles or kills. */
function usage(use: ResourceUse, format: (n: number | null) => string): string {
  const request = use.request === null ? null : `${format(use.request)} request`;
  const limit = use.limit === null ? null : `${format(use.limit)} limit`;
  if (use.used === null) return `n/a (${[request, limit ?? 'no limit'].filter((x) => x !== null).join(', ')})`;
  const against = [
    request === null ? null : `${formatShare(use.used, use.request) ?? '?'} of ${request}`,
    limit === null ? 'no limit' : `${formatShare(use.used, use.limit) ?? '?'} of ${limit}`,
  ];
  return `${format(use.used)} (${against.filter((x) => x !== null).join(', ')})`;
}

function exporterBlocks(m: ExporterMetrics): Block[] {
  const up = m.up === null ? 'pg_up missing' : m.up ? 'pg_up 1 (reaches PostgreSQL)' : ':red_circle: pg_up 0 (cannot reach PostgreSQL)';
  const locks =
    m.locks === null ? 'n/a' : `${formatCount(m.locks.total)}${m.locks.byMode.length ? ` (${m.locks.byMode.map((l) => `${l.mode} ${formatCount(l.count)}`).join(', ')})` : ''}`;
  const orNa = (n: number | null): string => (n === null ? 'n/a' : formatCount(n));
  const blocks: Block[] = [
    ...sectionFields([
      `*Exporter*\n${up}${m.exporterVersion ? ` · v${escapeMrkdwn(m.exporterVersion)}` : ''}`,
      `*Backends (${escapeMrkdwn(m.database)})*\n${orNa(m.backends)}`,
      `*Commits*\n${orNa(m.commits)}${m.rollbacks !== null ? ` · ${formatCount(m.rollbacks)} rollbacks` : ''}`,
      `*Longest transaction*\n${m.longestTransactionSeconds === null ? 'n/a' : formatDuration(m.longestTransactionSeconds * 1000)}`,
      `*Locks (exporter)*\n${locks}`,
    ]),
  ];
  if (m.business.length > 0) {
    const lines = listWithMore(m.business, MAX_BUSINESS_METRICS, (b) => `\`${escapeMrkdwn(b.name + labelText(b.labels))}\` ${formatValue(b.value)}`, 'metrics');
    blocks.push(section(`*Business metrics*\n${lines.join('\n')}`));
  }
  const problems: string[] = [];
  if (m.scrapeError) problems.push('the exporter\'s last scrape had errors: some figures may be missing');
  if (m.customQueriesError) problems.push('the exporter could not load its custom queries file');
  if (problems.length > 0) blocks.push(context(problems.map((p) => `:warning: ${p}`)));
  return blocks;
}

/** Labels as in the exposition format, minus `server`, which the exporter adds to every custom metric. */
function labelText(labels: Record<string, string>): string {
  const shown = Object.entries(labels).filter(([k]) => k !== 'server');
  return shown.length === 0 ? '' : `{${shown.map(([k, v]) => `${k}="${v.replace(/`/g, "'")}"`).join(',')}}`;
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Number.isInteger(value) ? formatCount(value) : String(Number(value.toPrecision(6)));
}

/** "+40", "−12", "±0": a change, with its sign. */
function signed(n: number, format: (n: number) => string): string {
  if (n === 0) return '±0';
  return `${n > 0 ? '+' : '−'}${format(Math.abs(n))}`;
}
