/**
 * How `status` looks, from typed results (what the handler returns: test/handlers/status-*.test.ts),
 * asserted on the blocks Slack receives: the verdict, PostgreSQL's figures and their trends, the pods
 * with their use of requests and limits, images and last terminations, the Service's endpoints, the
 * nodes' pressure, the recent warning events, the exporter, and one line for each source that did
 * not answer.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../src/bot/blocks.js';
import { statusView } from '../../../src/bot/views/status-view.js';
import type { StatusResult } from '../../../src/handlers/status.js';
import type { ExporterMetrics } from '../../../src/ops/exporter/exporter-metrics.js';
import type { ContainerUse, DatabasePod, DatabasePods } from '../../../src/ops/kube/database-pods.js';
import type { ServiceEndpoints } from '../../../src/ops/kube/service-endpoints.js';
import type { WarningEvent } from '../../../src/ops/kube/warning-events.js';
import type { ServerStatus } from '../../../src/ops/postgres/server-status.js';
import { allMrkdwn as allOf, blocksJsonSize, headerOf, mrkdwnOf } from '../../support/blocks.js';

const measuredAt = new Date('2026-12-01T03:00:00Z');
const MI = 2 ** 20;

const server: ServerStatus = {
  version: 'PostgreSQL 15.18', versionNum: 150018, database: 'recipe_database', startedAt: measuredAt, uptimeSeconds: 7_200, maxConnections: 200,
  connections: [{ state: 'idle', count: 8 }, { state: 'active', count: 2 }], totalConnections: 12, databaseConnections: 7, botConnections: 2,
  idleInTransaction: 0, cacheHitRatio: { tables: 0.995, indexes: 0.999 }, commits: 12_345, rollbacks: 6, deadlocks: 0,
  blocksHit: 99_500, blocksRead: 500, statsResetAt: null, databaseSizeBytes: 12 * MI,
  longestTransaction: null, blockedQueries: 0, locks: { granted: 4, waiting: 0 }, botLocks: 3, replication: [], isReplica: false,
};

const pod: DatabasePod = {
  name: 'recipe-database-7d9f8b-aaaaa', phase: 'Running', reason: null, readyContainers: 2, totalContainers: 2, restarts: 0,
  startedAt: new Date(measuredAt.getTime() - 3 * 3_600_000), createdAt: new Date(measuredAt.getTime() - 3 * 3_600_000), readyAt: new Date(measuredAt.getTime() - 3 * 3_600_000),
  ip: '10.244.0.7', node: 'fake-node-1',
  containers: [
    {
      name: 'recipe-database', ready: true, restarts: 0, cpu: { used: 0.12, request: 0.25, limit: 1 }, memory: { used: 300 * MI, request: 512 * MI, limit: 1024 * MI },
      image: null, imageId: null, waiting: null, lastTermination: null,
    },
    {
      name: 'postgres-exporter', ready: true, restarts: 0, cpu: { used: 0.0015, request: null, limit: null }, memory: { used: 20 * MI, request: null, limit: null },
      image: null, imageId: null, waiting: null, lastTermination: null,
    },
  ],
};
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const withContainer = (over: Partial<ContainerUse>): DatabasePod => ({ ...pod, containers: [{ ...(pod.containers[0] as ContainerUse), ...over }, ...pod.containers.slice(1)] });
const service: ServiceEndpoints = { namespace: 'recipe-database', service: 'recipe-database-service', ready: [{ ip: '10.244.0.7', pod: pod.name }], notReady: [], ports: ['5432/TCP', '9187/TCP'] };
const pods: DatabasePods = { namespace: 'recipe-database', deployment: 'recipe-database', selector: 'app=recipe-database', pods: [pod], metricsUnavailable: null };

const exporter: ExporterMetrics = {
  up: true, database: 'recipe_database', backends: 3, commits: 12_000, rollbacks: 5, longestTransactionSeconds: 2, locks: { total: 4, byMode: [{ mode: 'accesssharelock', count: 4 }] },
  business: [
    { name: 'recipe_stats_total_recipes', labels: { server: '127.0.0.1:5432' }, value: 300 },
    { name: 'recipe_stats_by_difficulty_recipes', labels: { server: '127.0.0.1:5432', difficulty: 'easy' }, value: 97 },
  ],
  scrapeError: false, customQueriesError: false, exporterVersion: '0.11.1',
};

function status(over: Partial<StatusResult> = {}): StatusResult {
  return {
    measuredAt, verdict: 'OK', reasons: [], viaReservedSession: false,
    postgres: { ok: true, data: server, ms: 4 }, kubernetes: { ok: true, data: pods, ms: 9 }, service: null, warnings: null, nodes: [], exporter: null, trend: null, ...over,
  };
}

describe('status view', () => {
  it("shows the verdict and PostgreSQL's figures", () => {
    const message = statusView(status());
    expect(headerOf(message)).toBe('Recipe Database status');
    const texts = mrkdwnOf(message);
    expect(texts[0]).toBe(':large_green_circle: *OK* — all checks pass');
    expect(texts).toContain('*PostgreSQL*\nup · PostgreSQL 15.18');
    expect(texts).toContain('*Uptime*\n2h');
    expect(texts).toContain("*Connections*\n12 / 200 on the server (idle 8, active 2) · 7 in recipe_database · the bot's own 2");
    expect(texts).toContain('*Cache hit*\ntables 99.50% · indexes 99.90%');
    expect(texts).toContain('*Transactions*\n12,345 commits · 6 rollbacks · 0 deadlocks');
    expect(texts).toContain('*Database size*\n12.0 MiB (recipe_database)');
    expect(texts).toContain("*Locks*\n4 held · 0 waiting · 0 blocked · the bot's own 3");
    expect(texts).toContain('*Longest transaction:* none open');
    expect(texts).toContain('Exporter: not configured (EXPORTER_URL)');
    expect(message.text).toBe('Recipe Database: OK');
  });

  it('names the longest transaction with its query', () => {
    const texts = mrkdwnOf(statusView(status({ postgres: { ok: true, ms: 4, data: { ...server, longestTransaction: { pid: 4242, seconds: 600, state: 'idle in transaction', query: 'SELECT 1' } } } })));
    expect(texts).toContain('*Longest transaction:* pid 4242, 10m, idle in transaction\n```\nSELECT 1\n```');
  });

  it('shows each pod with its containers against their requests and limits', () => {
    const texts = mrkdwnOf(statusView(status()));
    const pods = texts.find((t) => t.startsWith('*Pods* of recipe-database/recipe-database'));
    expect(pods).toBe(
      [
        '*Pods* of recipe-database/recipe-database',
        '*recipe-database-7d9f8b-aaaaa* · Running · ready 2/2 · 0 restarts · age 3h · node fake-node-1',
        '   ◦ recipe-database: CPU 120m (48% of 250m request, 12% of 1 core limit) · memory 300Mi (59% of 512Mi request, 29% of 1Gi limit)',
        '   ◦ postgres-exporter: CPU 2m (no limit) · memory 20Mi (no limit)',
      ].join('\n'),
    );
  });

  it('flags a pod that restarted or is not ready, and says why the verdict is what it is', () => {
    const sick = { ...pod, readyContainers: 0, restarts: 3 };
    const message = statusView(status({ verdict: 'WARN', reasons: [`pod ${pod.name} not ready (0/2 containers), restarted 3 times`], kubernetes: { ok: true, ms: 9, data: { ...pods, pods: [sick] } } }));
    const texts = mrkdwnOf(message);
    expect(texts[0]).toBe(`:warning: *WARN* — pod ${pod.name} not ready (0/2 containers), restarted 3 times`);
    expect(texts.find((t) => t.startsWith('*Pods*'))).toContain(`:warning: *${pod.name}* · Running · ready 0/2 · 3 restarts`);
    expect(message.text).toBe(`Recipe Database: WARN — pod ${pod.name} not ready (0/2 containers), restarted 3 times`);
    const down = mrkdwnOf(statusView(status({ verdict: 'DOWN', reasons: [`pod ${pod.name} is Pending (ContainerCreating)`] })));
    expect(down[0]).toBe(`:red_circle: *DOWN* — pod ${pod.name} is Pending (ContainerCreating)`);
  });

  it('still lists the pods without metrics, and says why', () => {
    const noMetrics = { ...pods, metricsUnavailable: 'the metrics API (metrics-server) is not installed', pods: [{ ...pod, containers: pod.containers.map((c) => ({ ...c, cpu: { ...c.cpu, used: null }, memory: { ...c.memory, used: null } })) }] };
    const texts = mrkdwnOf(statusView(status({ kubernetes: { ok: true, ms: 9, data: noMetrics } })));
    expect(texts.find((t) => t.startsWith('*Pods*'))).toContain('   ◦ recipe-database: CPU n/a (250m request, 1 core limit) · memory n/a (512Mi request, 1Gi limit)');
    expect(texts).toContain('CPU and memory n/a: the metrics API (metrics-server) is not installed');
  });

  it('gives a source that did not answer one line, and admits the verdict did not judge it', () => {
    const texts = mrkdwnOf(statusView(status({ kubernetes: { ok: false, reason: 'Kubernetes did not answer within 2.0s', ms: 2_000 } })));
    expect(texts[0]).toBe(':large_green_circle: *OK* — the checks that could run pass');
    expect(texts.filter((t) => t.includes('Kubernetes'))).toEqual(['Kubernetes: unavailable — Kubernetes did not answer within 2.0s']);
    expect(mrkdwnOf(statusView(status({ kubernetes: null })))).toContain('Kubernetes: not configured');
    expect(mrkdwnOf(statusView(status({ postgres: { ok: false, reason: 'connection refused', ms: 3 }, verdict: 'DOWN', reasons: ['PostgreSQL: connection refused'] })))).toContain('*PostgreSQL:* down — connection refused');
  });

  it("shows the exporter's key metrics and the business metrics, without the exporter's server label", () => {
    const texts = mrkdwnOf(statusView(status({ exporter: { ok: true, data: exporter, ms: 5 } })));
    expect(texts).toContain('*Exporter*\npg_up 1 (reaches PostgreSQL) · v0.11.1');
    expect(texts).toContain('*Backends (recipe_database)*\n3');
    expect(texts).toContain('*Commits*\n12,000 · 5 rollbacks');
    expect(texts).toContain('*Longest transaction*\n2.0s');
    expect(texts).toContain('*Business metrics*\n`recipe_stats_total_recipes` 300\n`recipe_stats_by_difficulty_recipes{difficulty="easy"}` 97');
    expect(texts.join('\n')).not.toContain('server=');
    expect(mrkdwnOf(statusView(status({ exporter: { ok: true, ms: 5, data: { ...exporter, up: false } } })))).toContain('*Exporter*\n:red_circle: pg_up 0 (cannot reach PostgreSQL) · v0.11.1');
    expect(mrkdwnOf(statusView(status({ exporter: { ok: false, reason: 'the exporter refused the connection (is it running?)', ms: 1 } })))).toContain(
      'Exporter: unavailable — the exporter refused the connection (is it running?)',
    );
  });

  it("shows the connections' and the size's trend from the history", () => {
    const texts = mrkdwnOf(statusView(status({ trend: { connections: { delta: 40, minutes: 15 }, size: { deltaBytes: 120 * MI, hours: 24 } } })));
    expect(texts).toContain("*Connections*\n12 / 200 on the server · +40 in 15 min (idle 8, active 2) · 7 in recipe_database · the bot's own 2");
    expect(texts).toContain('*Database size*\n12.0 MiB · +120 MiB in 24 h (recipe_database)');
    const shrank = mrkdwnOf(statusView(status({ trend: { connections: { delta: -12, minutes: 15 }, size: null } })));
    expect(shrank.find((t) => t.startsWith('*Connections*'))).toContain(' · −12 in 15 min');
  });

  it("shows each container's image and digest, and a restarted container's last termination", () => {
    const finishedAt = new Date(measuredAt.getTime() - 4 * 60_000);
    const oom = withContainer({
      image: 'postgres:15.4', imageId: `docker.io/library/postgres@${DIGEST}`, restarts: 2,
      lastTermination: { reason: 'OOMKilled', exitCode: 137, signal: null, startedAt: new Date(finishedAt.getTime() - 2 * 3_600_000), finishedAt },
    });
    const pods_ = mrkdwnOf(statusView(status({ kubernetes: { ok: true, ms: 9, data: { ...pods, pods: [{ ...oom, restarts: 2 }] } } }))).find((t) => t.startsWith('*Pods*')) ?? '';
    expect(pods_).toContain('   ◦ recipe-database: CPU 120m (48% of 250m request, 12% of 1 core limit) · memory 300Mi (59% of 512Mi request, 29% of 1Gi limit) · image `postgres:15.4` (sha256:0123456789ab…)');
    expect(pods_).toContain('      :red_circle: last terminated 4m ago: *OOMKilled* (exit code 137) after running 2h');
    const waiting = mrkdwnOf(statusView(status({ kubernetes: { ok: true, ms: 9, data: { ...pods, pods: [withContainer({ waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "postgres:99"' } })] } } })));
    expect(waiting.find((t) => t.startsWith('*Pods*'))).toContain('      :warning: waiting: *ImagePullBackOff* — Back-off pulling image "postgres:99"');
  });

  it("shows the Service's endpoints; none ready says the application cannot connect", () => {
    expect(mrkdwnOf(statusView(status({ service: { ok: true, ms: 3, data: service } })))).toContain(
      `*Service* recipe-database-service: ready 10.244.0.7 (${pod.name}) · port 5432/TCP, 9187/TCP`,
    );
    const none = { ...service, ready: [], notReady: [{ ip: '10.244.0.7', pod: pod.name }] };
    const message = statusView(status({ verdict: 'DOWN', reasons: ['the Service recipe-database-service has no ready endpoints (1 not ready): the application cannot connect'], service: { ok: true, ms: 3, data: none } }));
    const texts = mrkdwnOf(message);
    expect(texts[0]).toBe(':red_circle: *DOWN* — the Service recipe-database-service has no ready endpoints (1 not ready): the application cannot connect');
    expect(texts).toContain(`:red_circle: *Service* recipe-database-service: *no ready endpoints* — the application cannot connect · not ready: 10.244.0.7 (${pod.name}) · port 5432/TCP, 9187/TCP`);
    expect(mrkdwnOf(statusView(status({ service: { ok: false, ms: 3, reason: 'the Service recipe-database/x does not exist (RECIPEDB_SERVICE)' } })))).toContain(
      'Service endpoints: unavailable — the Service recipe-database/x does not exist (RECIPEDB_SERVICE)',
    );
  });

  it("names the node's pressure conditions when the bot may read nodes", () => {
    const texts = mrkdwnOf(statusView(status({ nodes: [{ ok: true, name: 'node-a', ready: true, notReadyReason: null, pressures: [{ type: 'MemoryPressure', message: 'kubelet has insufficient memory available' }] }] })));
    expect(texts).toContain('Node node-a: :warning: MemoryPressure (kubelet has insufficient memory available)');
    expect(mrkdwnOf(statusView(status({ nodes: [{ ok: true, name: 'node-a', ready: true, notReadyReason: null, pressures: [] }] })))).toContain('Node node-a: Ready, no memory, disk or PID pressure');
    // Without the optional node read there are no nodes, and nothing is said about them.
    expect(allOf(statusView(status()))).not.toMatch(/Node /);
  });

  it('shows the recent warning events when the verdict is not OK, and only then', () => {
    const backOff: WarningEvent = {
      kind: 'Pod', name: pod.name, reason: 'BackOff', message: `Back-off restarting failed container recipe-database in pod ${pod.name}`, count: 2,
      firstSeen: null, lastSeen: new Date(measuredAt.getTime() - 3 * 60_000), source: 'kubelet',
    };
    const warnings = { ok: true as const, ms: 4, data: { namespace: 'recipe-database', events: [backOff], otherCount: 1 } };
    const texts = mrkdwnOf(statusView(status({ verdict: 'WARN', reasons: [`pod ${pod.name} restarted 2 times`], warnings })));
    expect(texts).toContain(
      `*Recent warning events* (last hour; \`events\` lists them all)\n:warning: 3m ago · Pod \`${pod.name}\` · *BackOff* ×2 — Back-off restarting failed container recipe-database in pod ${pod.name}`,
    );
    expect(allOf(statusView(status({ warnings })))).not.toContain('Recent warning events');
  });

  it('fits Slack with many pods and findings', () => {
    const many = { ...pods, pods: Array.from({ length: 30 }, (_, i) => ({ ...pod, name: `recipe-database-7d9f8b-${i}` })) };
    const message = statusView(status({ verdict: 'WARN', reasons: Array.from({ length: 20 }, (_, i) => `finding ${i}`), kubernetes: { ok: true, ms: 9, data: many }, exporter: { ok: true, data: exporter, ms: 5 } }));
    expect(message.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
    expect(blocksJsonSize(message)).toBeLessThanOrEqual(LIMITS.messageChars);
    expect(mrkdwnOf(message).find((t) => t.startsWith('*Pods*'))).toContain('… and 24 more pods');
  });
});
