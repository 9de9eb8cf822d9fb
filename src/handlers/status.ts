/**
 * `status`: the runbook's daily health check in one answer. Every source — PostgreSQL, the pods
 * of the database deployment, postgres_exporter — is read in parallel with its own deadline, so a
 * dead database or a hanging API becomes one line and never delays the rest.
 */
import type pg from 'pg';
import { readExporterMetrics, type ExporterMetrics } from '../ops/exporter/exporter-metrics.js';
import { readDatabasePods, type DatabasePod, type DatabasePods } from '../ops/kube/database-pods.js';
import type { Kube } from '../ops/kube/kube-client.js';
import { mayReadNodes, readNodeConditions, type NodeConditions } from '../ops/kube/node-conditions.js';
import { readServiceEndpoints, type ServiceEndpoints } from '../ops/kube/service-endpoints.js';
import { readWarningEvents, type WarningEvents } from '../ops/kube/warning-events.js';
import { formatDuration } from '../duration.js';
import { readServerStatus, type ServerStatus } from '../ops/postgres/server-status.js';
import { withOperatedSession } from '../ops/postgres/reserved-session.js';
import { withTimeout } from '../with-timeout.js';
import { defineHandler, noArgs, type HandlerContext } from './handler.js';
import { describeFailure } from '../ops/failure.js';
import { readTrendSamples, statusTrend, type StatusTrend } from './status-trend.js';

export type SourceResult<T> = { ok: true; data: T; ms: number } | { ok: false; reason: string; ms: number };

export type Verdict = 'OK' | 'WARN' | 'DOWN';

export interface StatusResult {
  measuredAt: Date;
  verdict: Verdict;
  reasons: string[];
  postgres: SourceResult<ServerStatus>;
  /** PostgreSQL was read over the bot's reserved session: the pool could not connect (no free slot). */
  viaReservedSession: boolean;
  /** null: Kubernetes is not configured. */
  kubernetes: SourceResult<DatabasePods> | null;
  /** The endpoints of RECIPEDB_SERVICE; null: Kubernetes is not configured. */
  service: SourceResult<ServiceEndpoints> | null;
  /** The database's warning events of the last hour; shown when the verdict is not OK. */
  warnings: SourceResult<WarningEvents> | null;
  /** The conditions of the database pods' nodes, when the bot may read nodes (deploy/optional/node-read.yaml). */
  nodes: NodeConditions[];
  /** null: EXPORTER_URL is not set. */
  exporter: SourceResult<ExporterMetrics> | null;
  /** Against the sampled history; null when PostgreSQL is down or the history cannot say. */
  trend: StatusTrend | null;
}

// The custom-query metrics the runbook's "Recipe-specific metrics" check greps for.
// Recipe-specific, so it belongs in configuration (EXPORTER_BUSINESS_PREFIXES) once config.ts has it.
const BUSINESS_METRIC_PREFIXES = ['recipe_stats_', 'user_activity_'];
const CLEANUP_GRACE_MS = 250;
/** Warnings older than this explain no current verdict. */
const RECENT_WARNINGS_MS = 60 * 60_000;
// Whether the optional node read is granted is asked once in a while, not on every status.
const NODES_GRANT_TTL_MS = 10 * 60_000;
const nodesGrant = new WeakMap<Kube, { allowed: boolean; until: number }>();

export async function readSource<T>(what: string, ms: number, read: () => Promise<T>): Promise<SourceResult<T>> {
  const started = performance.now();
  try {
    const data = await withTimeout(read(), ms, what);
    return { ok: true, data, ms: performance.now() - started };
  } catch (error) {
    return { ok: false, reason: describeFailure(error), ms: performance.now() - started };
  }
}

export const statusHandler = defineHandler({
  name: 'status',
  usage: 'status',
  summary: 'database up/down, version, uptime, connections, cache hit ratio, size, longest transaction, locks; pods (phase, ready, restarts, CPU/memory); exporter metrics',
  args: noArgs,
  async run(_args, ctx): Promise<StatusResult> {
    const { connectMs, statementMs, sourceMs } = ctx.config.timeouts;
    const { kube } = ctx;
    const exporterUrl = ctx.config.exporterUrl;
    const { database } = ctx.config;
    const measuredAt = ctx.now();
    let nodes: NodeConditions[] = [];
    let viaReservedSession = false;
    const [postgres, kubernetes, exporter, service, warnings, history] = await Promise.all([
      readSource('PostgreSQL', connectMs + statementMs, () =>
        withOperatedSession(ctx.db, ctx.reserved, ({ session, reserved }) => {
          viaReservedSession = reserved;
          return readServerStatus(session);
        }),
      ),
      kube === null
        ? null
        : readSource('Kubernetes', sourceMs, async () => {
            const started = performance.now();
            const pods = await readDatabasePods(kube, database, {
              // Cancels the requests themselves once readSource has given up on them (a little later,
              // so that the operator reads readSource's "did not answer within" sentence).
              signal: AbortSignal.timeout(sourceMs + CLEANUP_GRACE_MS),
              // Less than the whole budget, so a slow metrics-server still leaves the pods shown.
              metricsTimeoutMs: Math.round(sourceMs * 0.75),
            });
            // The nodes need the pods' node names: whatever budget is left, or none.
            nodes = await readPodNodes(kube, pods.pods, Math.round(sourceMs * 0.9 - (performance.now() - started)));
            return pods;
          }),
      exporterUrl === undefined
        ? null
        : readSource('the exporter', sourceMs, () =>
            readExporterMetrics({
              url: exporterUrl,
              database: operatedDatabase(ctx.db),
              businessPrefixes: BUSINESS_METRIC_PREFIXES,
              timeoutMs: sourceMs + CLEANUP_GRACE_MS,
            }),
          ),
      kube === null
        ? null
        : readSource('Kubernetes', sourceMs, () => readServiceEndpoints(kube, database, AbortSignal.timeout(sourceMs + CLEANUP_GRACE_MS))),
      kube === null
        ? null
        : readSource('Kubernetes', sourceMs, () =>
            readWarningEvents(kube, { ...database, since: new Date(measuredAt.getTime() - RECENT_WARNINGS_MS), signal: AbortSignal.timeout(sourceMs + CLEANUP_GRACE_MS) }),
          ),
      // A trend is a courtesy: a slow or dead state database leaves it out, never the status.
      readSource('the history', sourceMs, () => readTrendSamples(ctx.state, measuredAt)),
    ]);
    const { verdict, reasons } = judge({ postgres, kubernetes, exporter, service, nodes }, ctx);
    const trend = postgres.ok && history.ok ? statusTrend(history.data, postgres.data, measuredAt) : null;
    return { measuredAt: ctx.now(), verdict, reasons, postgres, viaReservedSession, kubernetes, service, warnings, nodes, exporter, trend };
  },
  verdict: statusVerdict,
});

/** The one line the incident timeline keeps: "status: WARN, connections 195/200 — …". */
export function statusVerdict(result: StatusResult): string {
  const figures = result.postgres.ok ? `, connections ${result.postgres.data.totalConnections}/${result.postgres.data.maxConnections}` : '';
  const first = result.reasons[0];
  const more = result.reasons.length > 1 ? ` (+${result.reasons.length - 1} more)` : '';
  return `status: ${result.verdict}${figures}${first === undefined ? '' : ` — ${first}${more}`}`;
}

/** The nodes the pods run on, each once; none when the bot may not read nodes (deploy/optional/node-read.yaml). */
async function readPodNodes(kube: Kube, pods: DatabasePod[], budgetMs: number): Promise<NodeConditions[]> {
  const names = [...new Set(pods.map((p) => p.node).filter((n): n is string => n !== null))];
  if (names.length === 0 || budgetMs < 100) return [];
  const signal = AbortSignal.timeout(budgetMs);
  let grant = nodesGrant.get(kube);
  if (grant === undefined || grant.until < Date.now()) {
    grant = { allowed: await mayReadNodes(kube, signal), until: Date.now() + NODES_GRANT_TTL_MS };
    nodesGrant.set(kube, grant);
  }
  if (!grant.allowed) return [];
  const read = await Promise.all(names.map((name) => readNodeConditions(kube, name, signal)));
  // Revoked since it was asked: say nothing, and ask again next time.
  if (read.some((n) => !n.ok && n.forbidden)) {
    nodesGrant.delete(kube);
    return [];
  }
  return read;
}

/** The operated database's name, known without asking it (the exporter is read in parallel). */
function operatedDatabase(pool: pg.Pool): string {
  const { connectionString, database } = pool.options;
  if (connectionString !== undefined) {
    const name = decodeURIComponent(new URL(connectionString).pathname.slice(1));
    if (name !== '') return name;
  }
  return database ?? 'postgres';
}

interface Finding {
  severity: Exclude<Verdict, 'OK'>;
  reason: string;
}

type Sources = Pick<StatusResult, 'postgres' | 'kubernetes' | 'exporter' | 'service' | 'nodes'>;

function judge(sources: Sources, ctx: HandlerContext): { verdict: Verdict; reasons: string[] } {
  const findings = [
    ...judgePostgres(sources.postgres, ctx),
    ...judgePods(sources.kubernetes, ctx.now()),
    ...judgeService(sources.service, sources.kubernetes),
    ...judgeNodes(sources.nodes),
    ...judgeExporter(sources.exporter),
  ];
  const verdict: Verdict = findings.some((f) => f.severity === 'DOWN') ? 'DOWN' : findings.length > 0 ? 'WARN' : 'OK';
  // The worst news first: a reader may only see the first reason (notifications).
  const ordered = [...findings.filter((f) => f.severity === 'DOWN'), ...findings.filter((f) => f.severity === 'WARN')];
  return { verdict, reasons: ordered.map((f) => f.reason) };
}

function judgePostgres(postgres: SourceResult<ServerStatus>, ctx: HandlerContext): Finding[] {
  if (!postgres.ok) return [{ severity: 'DOWN', reason: `PostgreSQL: ${postgres.reason}` }];
  const { thresholds } = ctx.config;
  const s = postgres.data;
  const warn = (reason: string): Finding => ({ severity: 'WARN', reason });
  const findings: Finding[] = [];
  const cache = s.cacheHitRatio.tables;
  if (cache !== null && cache * 100 < thresholds.cacheHitMinPercent) {
    findings.push(warn(`cache hit ratio ${(cache * 100).toFixed(1)}% is below ${thresholds.cacheHitMinPercent}%`));
  }
  const usedPercent = (s.totalConnections / s.maxConnections) * 100;
  if (usedPercent > thresholds.connectionsMaxPercent) {
    findings.push(warn(`${s.totalConnections} of ${s.maxConnections} connections in use (over ${thresholds.connectionsMaxPercent}%)`));
  }
  if (s.longestTransaction && s.longestTransaction.seconds * 1000 > thresholds.longTransactionMs) {
    findings.push(warn(`a transaction (pid ${s.longestTransaction.pid}) has been open for over ${Math.floor(s.longestTransaction.seconds / 60)} min`));
  }
  if (s.blockedQueries > 0) findings.push(warn(`${s.blockedQueries} blocked ${s.blockedQueries === 1 ? 'query' : 'queries'}`));
  return findings;
}

function judgePods(kubernetes: SourceResult<DatabasePods> | null, now: Date): Finding[] {
  // A source that does not answer is one line of its own and leaves the verdict to the others.
  if (kubernetes === null || !kubernetes.ok) return [];
  const { pods, namespace, deployment } = kubernetes.data;
  if (pods.length === 0) return [{ severity: 'DOWN', reason: `no pods of ${namespace}/${deployment}` }];
  // A pod that is not running is an outage only when no other pod of the deployment runs.
  const someRunning = pods.some((p) => p.phase === 'Running');
  const findings: Finding[] = [];
  for (const pod of pods) {
    // One finding per pod, so a crash-looping pod is one reason, not three.
    const problems: string[] = [];
    const notRunning = pod.phase !== 'Running';
    if (notRunning) problems.push(`is ${pod.phase}${pod.reason ? ` (${pod.reason})` : ''}`);
    else if (pod.readyContainers < pod.totalContainers) {
      problems.push(`not ready (${pod.readyContainers}/${pod.totalContainers} containers${pod.reason ? `, ${pod.reason}` : ''})`);
    }
    if (pod.restarts > 0) problems.push(`restarted ${pod.restarts} ${pod.restarts === 1 ? 'time' : 'times'}${lastExit(pod, now)}`);
    if (problems.length > 0) {
      findings.push({ severity: notRunning && !someRunning ? 'DOWN' : 'WARN', reason: `pod ${pod.name} ${problems.join(', ')}` });
    }
  }
  return findings;
}

/** ` (last: OOMKilled, exit code 137, 4m ago)`: why the most recently ended container ended. */
function lastExit(pod: DatabasePod, now: Date): string {
  const ended = pod.containers
    .map((c) => c.lastTermination)
    .filter((t) => t !== null)
    .sort((a, b) => (b.finishedAt?.getTime() ?? 0) - (a.finishedAt?.getTime() ?? 0))[0];
  if (ended === undefined) return '';
  const ago = ended.finishedAt === null ? '' : `, ${formatDuration(Math.max(0, now.getTime() - ended.finishedAt.getTime()))} ago`;
  return ` (last: ${ended.reason ?? 'terminated'}, exit code ${ended.exitCode ?? '?'}${ago})`;
}

function judgeService(service: SourceResult<ServiceEndpoints> | null, kubernetes: SourceResult<DatabasePods> | null): Finding[] {
  // When Kubernetes does not answer at all, its own line says so once.
  if (service === null || kubernetes === null || !kubernetes.ok) return [];
  if (!service.ok) return /does not exist/.test(service.reason) ? [{ severity: 'WARN', reason: service.reason }] : [];
  const { ready, notReady } = service.data;
  if (ready.length > 0) return [];
  const held = notReady.length > 0 ? ` (${notReady.length} not ready)` : '';
  return [{ severity: 'DOWN', reason: `the Service ${service.data.service} has no ready endpoints${held}: the application cannot connect` }];
}

function judgeNodes(nodes: NodeConditions[]): Finding[] {
  return nodes.flatMap((node): Finding[] => {
    if (!node.ok) return [];
    const findings: Finding[] = node.pressures.map((p) => ({ severity: 'WARN', reason: `node ${node.name} is under ${p.type}${p.message ? ` (${p.message})` : ''}` }));
    if (!node.ready) findings.unshift({ severity: 'WARN', reason: `node ${node.name} is not Ready (${node.notReadyReason ?? 'no reason given'})` });
    return findings;
  });
}

function judgeExporter(exporter: SourceResult<ExporterMetrics> | null): Finding[] {
  if (exporter === null || !exporter.ok) return [];
  if (exporter.data.up === false) return [{ severity: 'DOWN', reason: 'the exporter reports pg_up = 0 (it cannot reach PostgreSQL)' }];
  return [];
}
