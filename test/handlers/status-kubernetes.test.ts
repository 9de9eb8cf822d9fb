/**
 * `status` with the pods of the database deployment, read from a fake Kubernetes API through the
 * real client: usage against requests and limits, restarts and readiness flagged, the image and
 * its digest, the Service's endpoints, the last termination and the warning events that explain
 * it, node pressure with the optional node read, a missing metrics API and a hanging API server
 * each reduced to one sentence while PostgreSQL is still reported. Asserted on the typed result; how status shows it is test/bot/views/status-view.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { statusHandler, type StatusResult } from '../../src/handlers/status.js';
import type { DatabasePods } from '../../src/ops/kube/database-pods.js';
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

function status(on: TestServices = services): Promise<StatusResult> {
  return statusHandler.run({}, handlerContext(on));
}

function podsOf(result: StatusResult): DatabasePods {
  if (result.kubernetes === null) throw new Error('Kubernetes is not configured');
  if (!result.kubernetes.ok) throw new Error(`Kubernetes did not answer: ${result.kubernetes.reason}`);
  return result.kubernetes.data;
}

const MI = 2 ** 20;

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
  it('reads the database pod with CPU and memory against its requests and limits', async () => {
    kube.setPodMetrics(NS, podName, {
      'recipe-database': { cpu: '120m', memory: '300Mi' },
      'postgres-exporter': { cpu: '1500000n', memory: '20Mi' },
    });
    const result = await status();
    expect(result.verdict).toBe('OK');
    const pods = podsOf(result);
    expect(pods).toMatchObject({ namespace: 'recipe-database', deployment: 'recipe-database', metricsUnavailable: null });
    // Only the database deployment's pods, not pgbouncer's in the same namespace.
    expect(pods.pods.map((p) => p.name)).toEqual([podName]);
    const [pod] = pods.pods;
    expect(pod).toMatchObject({ phase: 'Running', reason: null, readyContainers: 2, totalContainers: 2, restarts: 0, node: 'fake-node-1' });
    expect(pod?.startedAt).toBeInstanceOf(Date);
    expect(pod?.containers).toEqual([
      expect.objectContaining({ name: 'recipe-database', cpu: { used: 0.12, request: 0.25, limit: 1 }, memory: { used: 300 * MI, request: 512 * MI, limit: 1024 * MI } }),
      expect.objectContaining({ name: 'postgres-exporter', cpu: { used: 0.0015, request: null, limit: null }, memory: { used: 20 * MI, request: null, limit: null } }),
    ]);
    // The running image and its digest, and the Service the application connects through.
    expect(pod?.containers[0]).toMatchObject({ image: 'postgres:15.4', imageId: expect.stringMatching(/sha256:[0-9a-f]{64}$/), waiting: null, lastTermination: null });
    expect(result.service).toEqual({
      ok: true,
      ms: expect.any(Number),
      data: { namespace: NS, service: 'recipe-database-service', ready: [{ ip: pod?.ip, pod: podName }], notReady: [], ports: ['5432/TCP', '9187/TCP'] },
    });
    expect(pod?.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // The PostgreSQL part is still all there, and no exporter was asked for.
    expect(result.postgres.ok).toBe(true);
    expect(result.exporter).toBeNull();
    // deploy/'s Role in recipe-database granted every read status made; the node needs the optional
    // node read: the bot asks whether it has it (once in a while) instead of being refused, and says nothing.
    expect(kube.forbidden).toEqual([]);
    expect(result.nodes).toEqual([]);
    const reviews = () => kube.requests.filter((r) => r.path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
    expect(reviews().map((r) => r.body)).toEqual([{ spec: { resourceAttributes: { verb: 'get', resource: 'nodes' } } }]);
    await status();
    expect(reviews()).toHaveLength(1);
    expect(kube.requests.filter((r) => r.path.startsWith('/api/v1/nodes'))).toEqual([]);
  });

  it('a pod that is not ready leaves the Service without ready endpoints: DOWN, the application cannot connect', async () => {
    kube.setPod(NS, podName, { ready: false, restarts: 3 });
    const result = await status();
    expect(result.verdict).toBe('DOWN');
    expect(result.reasons).toEqual([
      'the Service recipe-database-service has no ready endpoints (1 not ready): the application cannot connect',
      expect.stringMatching(new RegExp(`^pod ${podName} not ready \\(0/2 containers\\), restarted 3 times \\(last: Error, exit code 1`)),
    ]);
    expect(podsOf(result).pods[0]).toMatchObject({ readyContainers: 0, restarts: 3 });
    expect(result.service).toMatchObject({ ok: true, data: { ready: [], notReady: [{ ip: expect.stringMatching(/^10\.244\./), pod: podName }] } });
  });

  it('reads the endpoints from EndpointSlices, and says so in one sentence when the Service has none (RECIPEDB_SERVICE wrong)', async () => {
    const before = kube.requests.length;
    await status();
    const asked = kube.requests.slice(before).map((r) => r.path);
    expect(asked).toContain('/apis/discovery.k8s.io/v1/namespaces/recipe-database/endpointslices');
    expect(asked.filter((p) => p.includes('/endpoints/'))).toEqual([]);
    const other = await openTestServices({ kubeconfig: kube.kubeconfigPath, env: { RECIPEDB_SERVICE: 'recipe-db' } });
    try {
      expect((await status(other)).service).toMatchObject({
        ok: false,
        reason: 'the Service recipe-database/recipe-db has no EndpointSlice: it does not exist (RECIPEDB_SERVICE), or it has no selector',
      });
    } finally {
      await other.close();
    }
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
    const result = await status();
    expect(result.verdict).toBe('WARN');
    expect(result.reasons).toEqual([expect.stringMatching(new RegExp(`^pod ${podName} restarted 2 times \\(last: OOMKilled, exit code 137, 4m( \\d+s)? ago\\)$`))]);
    const container = podsOf(result).pods[0]?.containers.find((c) => c.name === 'recipe-database');
    // Kubernetes keeps these times to the second.
    const seconds = (d: Date) => Math.floor(d.getTime() / 1000) * 1000;
    expect(container?.lastTermination).toEqual({
      reason: 'OOMKilled', exitCode: 137, signal: null, startedAt: new Date(seconds(finishedAt) - 2 * 3_600_000), finishedAt: new Date(seconds(finishedAt)),
    });
    if (!result.warnings?.ok) throw new Error('the warning events were not read');
    expect(result.warnings.data.events).toEqual([
      expect.objectContaining({ kind: 'Pod', name: podName, reason: 'BackOff', count: 2, message: `Back-off restarting failed container recipe-database in pod ${podName}_${NS}` }),
    ]);
    expect(result.warnings.data.otherCount).toBe(1);
  });

  it('says DOWN when the only pod is not running', async () => {
    kube.setPod(NS, podName, { phase: 'Pending' });
    const result = await status();
    expect(result.verdict).toBe('DOWN');
    expect(result.reasons).toEqual([`pod ${podName} is Pending (ContainerCreating)`, 'the Service recipe-database-service has no ready endpoints: the application cannot connect']);
  });

  it('still lists the pods when the metrics API is missing', async () => {
    kube.failWith('/apis/metrics.k8s.io', 404);
    const result = await status();
    expect(result.verdict).toBe('OK');
    const pods = podsOf(result);
    expect(pods.metricsUnavailable).toBe('the metrics API (metrics-server) is not installed');
    expect(pods.pods[0]).toMatchObject({ name: podName, phase: 'Running', readyContainers: 2 });
    expect(pods.pods[0]?.containers[0]).toMatchObject({ cpu: { used: null, request: 0.25, limit: 1 }, memory: { used: null, request: 512 * MI, limit: 1024 * MI } });
  });

  it('gives up on a hanging Kubernetes API at its deadline, PostgreSQL intact', async () => {
    kube.hang('/api');
    kube.hang('/apis');
    const result = await status();
    expect(result.postgres.ok).toBe(true);
    expect(result.kubernetes).toMatchObject({ ok: false, reason: 'Kubernetes did not answer within 2.0s' });
    // A source that does not answer leaves the verdict to the others.
    expect(result.verdict).toBe('OK');
    expect(result.reasons).toEqual([]);
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
      const result = await status(other);
      expect(result.verdict).toBe('WARN');
      expect(result.reasons).toEqual(['node node-a is under MemoryPressure (kubelet has insufficient memory available)']);
      expect(result.nodes).toEqual([{ ok: true, name: 'node-a', ready: true, notReadyReason: null, pressures: [{ type: 'MemoryPressure', message: 'kubelet has insufficient memory available' }] }]);
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
      expect((await status(other)).kubernetes).toMatchObject({ ok: false, reason: 'the deployment recipe-database/recipe-database does not exist' });
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
      expect((await status(other)).kubernetes).toMatchObject({
        ok: false,
        reason: "the bot's Kubernetes account may not read the deployment databases/recipe-database (403 Forbidden)",
      });
      expect(kube.forbidden.slice(before).map((r) => r.path)).toContain('/apis/apps/v1/namespaces/databases/deployments/recipe-database');
    } finally {
      await other.close();
    }
  });
});

describe('status without Kubernetes', () => {
  it('leaves Kubernetes out', async () => {
    const plain = await openTestServices();
    try {
      const result = await status(plain);
      expect(result.kubernetes).toBeNull();
      expect(result.postgres.ok).toBe(true);
    } finally {
      await plain.close();
    }
  });
});
