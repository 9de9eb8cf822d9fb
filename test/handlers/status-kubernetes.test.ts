/**
 * `status` with the pods of the database deployment, read from a fake Kubernetes API through the
 * real client: usage against requests and limits, restarts and readiness flagged, a missing
 * metrics API and a hanging API server each reduced to one line while PostgreSQL is still reported.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { statusView } from '../../src/bot/views/status-view.js';
import { statusHandler, type StatusResult } from '../../src/handlers/status.js';
import { LIMITS } from '../../src/bot/blocks.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { RECIPE_DATABASE_NAMESPACE, addRecipeDatabase } from '../support/kube-fixtures.js';
import { handlerContext, openTestServices, type TestServices } from '../support/services.js';

const NS = RECIPE_DATABASE_NAMESPACE;

let kube: FakeKube;
let services: TestServices;
let podName: string;

/** Pod names carry a random suffix: ask the API, as an operator would. */
async function databasePodName(): Promise<string> {
  const list = await services.kube?.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=recipe-database' });
  const name = list?.items[0]?.metadata?.name;
  if (name === undefined) throw new Error('the fake has no database pod');
  return name;
}

async function status(): Promise<{ result: StatusResult; text: string; started: number; elapsed: number }> {
  const started = Date.now();
  const result = await statusHandler.run({}, handlerContext(services));
  const elapsed = Date.now() - started;
  const message = statusView(result);
  expect(message.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
  expect(JSON.stringify(message.blocks).length).toBeLessThanOrEqual(LIMITS.messageChars);
  return { result, text: renderBlocks(message, { width: 200 }).text, started, elapsed };
}

beforeAll(async () => {
  kube = await startFakeKube();
  addRecipeDatabase(kube);
  // Another deployment in the same namespace: its pods must not be taken for the database's.
  kube.addDeployment({ namespace: NS, name: 'pgbouncer', replicas: 1 });
  services = await openTestServices({ kubeconfig: kube.kubeconfigPath });
  podName = await databasePodName();
});

afterAll(async () => {
  await services?.close();
  await kube?.close();
});

afterEach(() => {
  kube.hang(null);
  kube.failWith(null, 0);
  kube.setPod(NS, podName, { phase: 'Running', ready: true, restarts: 0, lastTermination: null, waiting: null });
});

describe('status with Kubernetes', () => {
  it('shows the database pod with CPU and memory against its requests and limits', async () => {
    kube.setPodMetrics(NS, podName, {
      'recipe-database': { cpu: '120m', memory: '300Mi' },
      'postgres-exporter': { cpu: '1500000n', memory: '20Mi' },
    });
    const { result, text } = await status();
    expect(result.verdict).toBe('OK');
    expect(text).toContain('Pods of recipe-database/recipe-database');
    expect(text).toMatch(new RegExp(`${podName} · Running · ready 2/2 · 0 restarts · age \\d+(ms|\\.\\ds|s) · node fake-node-1`));
    expect(text).toContain('recipe-database: CPU 120m (48% of 250m request, 12% of 1 core limit) · memory 300Mi (59% of 512Mi request, 29% of 1Gi limit)');
    expect(text).toContain('postgres-exporter: CPU 2m (no limit) · memory 20Mi (no limit)');
    expect(text).not.toContain('pgbouncer');
    // The running image and its digest, and the Service the application connects through.
    expect(text).toMatch(/recipe-database: CPU .* · image `postgres:15\.4` \(sha256:[0-9a-f]{12}…\)/);
    const pod = result.kubernetes?.ok ? result.kubernetes.data.pods[0] : undefined;
    expect(text).toContain(`Service recipe-database-service: ready ${pod?.ip} (${podName}) · port 5432/TCP, 9187/TCP`);
    // The PostgreSQL part is still all there.
    expect(text).toContain('PostgreSQL: up · PostgreSQL 15');
    expect(text).toContain('Exporter: not configured (EXPORTER_URL)');
    // deploy/'s Role in recipe-database granted every read status made; the node needs the optional
    // node read: the bot asks whether it has it (once in a while) instead of being refused, and says nothing.
    expect(kube.forbidden).toEqual([]);
    expect(text).not.toMatch(/node-read|Node fake-node-1/);
    const reviews = () => kube.requests.filter((r) => r.path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
    expect(reviews().map((r) => r.body)).toEqual([{ spec: { resourceAttributes: { verb: 'get', resource: 'nodes' } } }]);
    await status();
    expect(reviews()).toHaveLength(1);
    expect(kube.requests.filter((r) => r.path.startsWith('/api/v1/nodes'))).toEqual([]);
  });

  it('a pod that is not ready leaves the Service without ready endpoints: DOWN, the application cannot connect', async () => {
    kube.setPod(NS, podName, { ready: false, restarts: 3 });
    const { result, text } = await status();
    expect(result.verdict).toBe('DOWN');
    expect(text.replace(/\n/g, ' ')).toContain(
      `🔴 DOWN — the Service recipe-database-service has no ready endpoints (1 not ready): the application cannot connect; pod ${podName} not ready (0/2 containers), restarted 3 times (last: Error, exit code 1`,
    );
    expect(text).toContain('ready 0/2 · 3 restarts');
    expect(text).toMatch(/🔴 Service recipe-database-service: no ready endpoints — the application cannot connect · not ready: 10\.244\.\S+ \(recipe-database-/);
  });

  it('shows an OOMKilled container: when, its exit code, and the warning event that explains it', async () => {
    const finishedAt = new Date(Date.now() - 4 * 60_000);
    kube.setPod(NS, podName, {
      restarts: 2,
      container: 'recipe-database',
      lastTermination: { reason: 'OOMKilled', exitCode: 137, startedAt: new Date(finishedAt.getTime() - 2 * 3_600_000), finishedAt },
    });
    kube.addEvent({
      namespace: NS,
      involvedObject: { kind: 'Pod', name: podName, fieldPath: 'spec.containers{recipe-database}' },
      type: 'Warning',
      reason: 'BackOff',
      message: `Back-off restarting failed container recipe-database in pod ${podName}_${NS}`,
      count: 2,
      lastTimestamp: new Date(Date.now() - 3 * 60_000),
    });
    // Not the database's: left out.
    kube.addEvent({ namespace: NS, involvedObject: { kind: 'Pod', name: 'pgbouncer-7d9f8b-abcde' }, type: 'Warning', reason: 'Unhealthy', message: 'Liveness probe failed' });
    const { result, text } = await status();
    expect(result.verdict).toBe('WARN');
    expect(text).toMatch(new RegExp(`⚠️ WARN — pod ${podName} restarted 2 times \\(last: OOMKilled, exit code 137, 4m( \\d+s)? ago\\)`));
    expect(text).toMatch(/🔴 last terminated 4m( \d+s)? ago: OOMKilled \(exit code 137\) after running 2h/);
    expect(text).toContain('Recent warning events (last hour; `events` lists them all)');
    expect(text).toMatch(new RegExp(`⚠️ 3m( \\d+s)? ago · Pod \`${podName}\` · BackOff ×2 — Back-off restarting failed container recipe-database`));
    expect(text).not.toContain('Liveness probe failed');
  });

  it('says DOWN when the only pod is not running', async () => {
    kube.setPod(NS, podName, { phase: 'Pending' });
    const { result, text } = await status();
    expect(result.verdict).toBe('DOWN');
    expect(text).toContain(`🔴 DOWN — pod ${podName} is Pending (ContainerCreating)`);
  });

  it('still lists the pods when the metrics API is missing', async () => {
    kube.failWith('/apis/metrics.k8s.io', 404);
    const { result, text } = await status();
    expect(result.verdict).toBe('OK');
    expect(text).toContain(`${podName} · Running · ready 2/2`);
    expect(text).toContain('recipe-database: CPU n/a (250m request, 1 core limit) · memory n/a (512Mi request, 1Gi limit)');
    expect(text).toContain('CPU and memory n/a: the metrics API (metrics-server) is not installed');
  });

  it('answers within its budget when the Kubernetes API hangs, PostgreSQL intact and Kubernetes one line', async () => {
    kube.hang('/api');
    kube.hang('/apis');
    const { result, text, elapsed } = await status();
    expect(elapsed).toBeLessThan(4_000);
    expect(result.postgres.ok).toBe(true);
    expect(text).toContain('PostgreSQL: up · PostgreSQL 15');
    expect(text).toMatch(/Connections: \d+ \/ \d+/);
    const kubeLines = text.split('\n').filter((l) => l.includes('Kubernetes'));
    expect(kubeLines).toEqual(['Kubernetes: unavailable — Kubernetes did not answer within 2.0s']);
    expect(result.verdict).toBe('OK');
    expect(text).toContain('🟢 OK — the checks that could run pass');
  });

  it("with the optional node read, names the database node's pressure conditions", async () => {
    const withNodes = await startFakeKube({ extraRbacFiles: ['deploy/optional/node-read.yaml'] });
    withNodes.setNodes([
      {
        name: 'node-a',
        cpu: '1',
        memory: '6Gi',
        allocatableCpu: '4',
        allocatableMemory: '8Gi',
        conditions: [
          { type: 'MemoryPressure', status: 'True', reason: 'KubeletHasInsufficientMemory', message: 'kubelet has insufficient memory available' },
          { type: 'DiskPressure', status: 'False' },
          { type: 'Ready', status: 'True' },
        ],
      },
    ]);
    addRecipeDatabase(withNodes);
    const other = await openTestServices({ kubeconfig: withNodes.kubeconfigPath });
    try {
      const result = await statusHandler.run({}, handlerContext(other));
      const text = renderBlocks(statusView(result), { width: 300 }).text;
      expect(result.verdict).toBe('WARN');
      expect(result.reasons).toEqual(['node node-a is under MemoryPressure (kubelet has insufficient memory available)']);
      expect(text).toContain('Node node-a: ⚠️ MemoryPressure (kubelet has insufficient memory available)');
      expect(withNodes.forbidden).toEqual([]);
    } finally {
      await other.close();
      await withNodes.close();
    }
  });

  it('reports a missing deployment in one sentence', async () => {
    // A cluster where the database deployment that deploy/'s Role names is not (yet) there: the
    // bot may read it, and the API server says it does not exist.
    const empty = await startFakeKube();
    const other = await openTestServices({ kubeconfig: empty.kubeconfigPath });
    try {
      const result = await statusHandler.run({}, handlerContext(other));
      const text = renderBlocks(statusView(result), { width: 200 }).text;
      expect(text).toContain('Kubernetes: unavailable — the deployment recipe-database/recipe-database does not exist');
      expect(empty.forbidden).toEqual([]);
    } finally {
      await other.close();
      await empty.close();
    }
  });

  it('says which permission is missing when the database runs outside the namespace deploy/ grants', async () => {
    const other = await openTestServices({ kubeconfig: kube.kubeconfigPath, env: { RECIPEDB_NAMESPACE: 'databases' } });
    const before = kube.forbidden.length;
    try {
      const result = await statusHandler.run({}, handlerContext(other));
      const text = renderBlocks(statusView(result), { width: 200 }).text;
      expect(text).toContain("Kubernetes: unavailable — the bot's Kubernetes account may not read the deployment databases/recipe-database (403 Forbidden)");
      expect(kube.forbidden.slice(before).map((r) => r.path)).toContain('/apis/apps/v1/namespaces/databases/deployments/recipe-database');
    } finally {
      await other.close();
    }
  });
});

describe('status without Kubernetes', () => {
  it('says "not configured" in one line', async () => {
    const plain = await openTestServices();
    try {
      const result = await statusHandler.run({}, handlerContext(plain));
      const text = renderBlocks(statusView(result)).text;
      expect(result.kubernetes).toBeNull();
      expect(text).toContain('Kubernetes: not configured');
      expect(text).toContain('PostgreSQL: up');
    } finally {
      await plain.close();
    }
  });
});
