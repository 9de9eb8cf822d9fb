/**
 * `logs` and `top` against the fake Kubernetes API through the real client, the way the runbook's
 * "Log Review" and "Check resource usage" use kubectl: two database pods with their logs (some
 * ERROR lines), usage of pods and nodes. The fake enforces deploy/'s RBAC, which does not let the
 * bot read nodes; a second cluster has the optional node grant (deploy/optional/node-read.yaml).
 * Asserted on the handlers' typed results; how they look is test/bot/views/kube-views.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { logsHandler, type LogsResult } from '../../src/handlers/logs.js';
import { topHandler, type TopResult } from '../../src/handlers/top.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { argsProblem, runHandler, type Words } from '../support/handlers.js';
import { handlerContext, openTestServices, type TestServices } from '../support/services.js';

const NS = 'recipe-database';
const actor = { userId: 'U_ALICE', channelId: 'C_OPS' };

const NODE_READ = 'deploy/optional/node-read.yaml';

let kube: FakeKube;
let services: TestServices;
let pods: string[];

function iso(msAgo: number): string {
  return new Date(Date.now() - msAgo).toISOString();
}

/** Two nodes and the database deployment with two pods and their usage; returns the pod names. */
async function seedCluster(fake: FakeKube, client: TestServices): Promise<string[]> {
  fake.setNodes([
    { name: 'node-a', cpu: '1500m', memory: '6Gi', allocatableCpu: '4', allocatableMemory: '16Gi' },
    { name: 'node-b', cpu: '250m', memory: '2Gi', allocatableCpu: '4', allocatableMemory: '16Gi' },
  ]);
  fake.addDeployment({
    namespace: NS,
    name: 'recipe-database',
    replicas: 2,
    containers: [
      { name: 'recipe-database', requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
      { name: 'postgres-exporter', limits: { cpu: '100m', memory: '128Mi' } },
    ],
  });
  const list = await client.kube?.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=recipe-database' });
  const names = (list?.items ?? []).map((p) => p.metadata?.name ?? '').sort();
  const [first = '', second = ''] = names;
  fake.setPodMetrics(NS, first, { 'recipe-database': { cpu: '800m', memory: '900Mi' }, 'postgres-exporter': { cpu: '10m', memory: '30Mi' } });
  fake.setPodMetrics(NS, second, { 'recipe-database': { cpu: '50m', memory: '200Mi' }, 'postgres-exporter': { cpu: '5m', memory: '20Mi' } });
  return names;
}

beforeAll(async () => {
  kube = await startFakeKube();
  services = await openTestServices({ kubeconfig: kube.kubeconfigPath });
  pods = await seedCluster(kube, services);
  const [first = '', second = ''] = pods;
  kube.setLogs(
    NS,
    first,
    'recipe-database',
    [
      `${iso(2 * 3_600_000)} 2026-11-29 09:00:00 UTC [1] LOG:  database system is ready to accept connections`,
      `${iso(90 * 60_000)} 2026-11-29 09:30:00 UTC [77] ERROR:  relation "recipe_manager.recipe" does not exist at character 15`,
      `${iso(30 * 60_000)} 2026-11-29 10:30:00 UTC [78] LOG:  checkpoint starting: time`,
      `${iso(20 * 60_000)} 2026-11-29 10:40:00 UTC [79] FATAL:  password authentication failed for user "recipe_app"`,
      `${iso(10 * 60_000)} 2026-11-29 10:50:00 UTC [80] LOG:  could not receive data from client: Connection reset by peer`,
      `${iso(5 * 60_000)} 2026-11-29 10:55:00 UTC [81] LOG:  statement: SELECT a.b(c) FROM recipes WHERE note = 'x<y & z>w'`,
    ].join('\n'),
  );
  kube.setLogs(NS, second, 'recipe-database', '2026-11-29 10:00:00 UTC [5] LOG:  replica says hello\n');
  kube.setLogs(NS, first, 'postgres-exporter', 'ts=2026-11-29T10:00:00Z level=error msg="Error opening connection to database"\n');
});

afterAll(async () => {
  await services?.close();
  await kube?.close();
});

afterEach(() => {
  kube.failWith(null, 0);
  kube.hang(null);
});

async function logs(words: Words = {}, client: TestServices = services): Promise<Extract<LogsResult, { configured: true }>> {
  const result = await runHandler(logsHandler, handlerContext(client, actor), words);
  if (!result.configured) throw new Error('Kubernetes is not configured');
  return result;
}

async function top(client: TestServices = services): Promise<Extract<TopResult, { configured: true }>> {
  const result = await runHandler(topHandler, handlerContext(client, actor));
  if (!result.configured) throw new Error('Kubernetes is not configured');
  return result;
}

const podOf = (result: Extract<LogsResult, { configured: true }>, name: string | undefined) => {
  const pod = result.pods.find((p) => p.pod === name);
  if (!pod) throw new Error(`no pod ${name} in the result`);
  return pod;
};
const texts = (pod: { lines: { text: string }[] }): string[] => pod.lines.map((l) => l.text);

describe('logs', () => {
  it('reads every pod of the deployment, with error lines marked', async () => {
    const result = await logs();
    expect(result).toMatchObject({ namespace: 'recipe-database', deployment: 'recipe-database', container: 'recipe-database', lines: 100, since: null, grep: null, previous: false });
    const first = podOf(result, pods[0]);
    expect(first.error).toBeNull();
    expect(first.lines).toHaveLength(6);
    expect(first.lines.filter((l) => l.error).map((l) => l.text)).toEqual([
      '2026-11-29 09:30:00 UTC [77] ERROR:  relation "recipe_manager.recipe" does not exist at character 15',
      '2026-11-29 10:40:00 UTC [79] FATAL:  password authentication failed for user "recipe_app"',
    ]);
    expect(first.lines).toContainEqual({ text: '2026-11-29 10:30:00 UTC [78] LOG:  checkpoint starting: time', error: false });
    // The text as written; escaping is the view's (test/bot/views/kube-views.test.ts).
    expect(texts(first)).toContain(`2026-11-29 10:55:00 UTC [81] LOG:  statement: SELECT a.b(c) FROM recipes WHERE note = 'x<y & z>w'`);
    expect(podOf(result, pods[1])).toMatchObject({ error: null, lines: [{ text: '2026-11-29 10:00:00 UTC [5] LOG:  replica says hello', error: false }] });
    expect(kube.forbidden).toEqual([]);
  });

  it('--grep keeps the lines containing the word in any case, taken literally', async () => {
    const result = await logs({ flags: { grep: 'connection RESET' } });
    expect(result).toMatchObject({ grep: 'connection RESET', scanLines: 5_000 });
    expect(texts(podOf(result, pods[0]))).toEqual(['2026-11-29 10:50:00 UTC [80] LOG:  could not receive data from client: Connection reset by peer']);
    expect(podOf(result, pods[1])).toMatchObject({ lines: [], scanned: 1 });

    expect(texts(podOf(await logs({ flags: { grep: 'a.b(c)' } }), pods[0]))).toEqual([expect.stringContaining('SELECT a.b(c) FROM recipes')]);
    expect(texts(podOf(await logs({ flags: { grep: 'a.b.c' } }), pods[0]))).toEqual([]);
  });

  it('--since asks the server for the recent lines only', async () => {
    const result = await logs({ flags: { since: '1h' } });
    expect(result.since).toBe('1h');
    const lines = texts(podOf(result, pods[0]));
    expect(lines.some((l) => l.includes('checkpoint starting'))).toBe(true);
    expect(lines.some((l) => l.includes('database system is ready'))).toBe(false);
    expect(lines.some((l) => l.includes('relation "recipe_manager.recipe" does not exist'))).toBe(false);
    const request = kube.requests.filter((r) => r.path.endsWith('/log')).at(-1);
    expect(request?.query.sinceSeconds).toBe('3600');
  });

  it('--lines keeps the newest lines', async () => {
    const result = await logs({ flags: { lines: '2' } });
    expect(result.lines).toBe(2);
    const first = podOf(result, pods[0]);
    expect(first.lines).toHaveLength(2);
    expect(first.lines.some((l) => l.error)).toBe(false);
    expect(texts(first).at(0)).toContain('Connection reset by peer');
  });

  it('--container reads another container, and an unknown one lists the valid ones', async () => {
    const exporter = await logs({ flags: { container: 'postgres-exporter' } });
    expect(kube.forbidden).toEqual([]);
    expect(exporter.container).toBe('postgres-exporter');
    expect(podOf(exporter, pods[0]).lines).toEqual([{ text: 'ts=2026-11-29T10:00:00Z level=error msg="Error opening connection to database"', error: true }]);

    await expect(logs({ flags: { container: 'pgbouncer' } })).rejects.toThrow(
      'there is no container "pgbouncer" in the pods of recipe-database/recipe-database; valid containers: recipe-database, postgres-exporter',
    );
  });

  it.each([
    [{ flags: { lines: '0' } }, '--lines must be between 1 and 1000'],
    [{ flags: { since: 'soon' } }, '--since takes a duration like 30s, 10m or 2h'],
    [{ flags: { grep: true } }, '--grep takes a word to look for'],
    [{ flags: { container: 'Bad Name' } }, '--container takes a container name (lowercase letters, digits and dashes)'],
    [{ positional: ['error'] }, 'takes no words, only options: to search for "error" use --grep'],
    [{ flags: { follow: true } }, 'does not take --follow (it takes --previous, --since, --grep, --container and --lines)'],
  ] as [Words, string][])('refuses %j', (words, problem) => {
    expect(argsProblem(logsHandler, words)).toBe(problem);
  });

  it('returns a long log whole, for the view to keep the newest lines', async () => {
    const long = Array.from({ length: 1_000 }, (_, i) => `2026-11-29 10:00:00 UTC [${i}] ${i % 97 === 0 ? 'ERROR' : 'LOG'}:  line ${i} ${'x'.repeat(120)}`).join('\n');
    kube.setLogs(NS, pods[1] ?? '', 'recipe-database', long);
    try {
      const pod = podOf(await logs({ flags: { lines: '1000' } }), pods[1]);
      expect(pod.lines).toHaveLength(1_000);
      expect(pod.lines.filter((l) => l.error)).toHaveLength(11);
      expect(pod.lines.at(-1)?.text).toContain('line 999 ');
    } finally {
      kube.setLogs(NS, pods[1] ?? '', 'recipe-database', '2026-11-29 10:00:00 UTC [5] LOG:  replica says hello\n');
    }
  });

  it('fails in one sentence when the API does not answer', async () => {
    kube.failWith('/apis/apps', 403);
    await expect(logs()).rejects.toThrow("the bot's Kubernetes account may not read the deployment recipe-database/recipe-database (403 Forbidden)");
  });
});

describe('top', () => {
  it("reads the pods, and says in one sentence that deploy/'s account may not read nodes", async () => {
    const before = kube.forbidden.length;
    const result = await top();
    expect(result.namespace).toBe('recipe-database');
    if (!result.pods.ok) throw new Error(result.pods.reason);
    // 810m of 1.1 cores of limits; 930Mi of 1152Mi.
    expect(result.pods.items).toContainEqual({ name: pods[0], node: expect.stringMatching(/^node-[ab]$/), cpuCores: 0.81, memoryBytes: 930 * 2 ** 20, cpuLimit: 1.1, memoryLimit: 1152 * 2 ** 20 });
    expect(result.pods.items).toContainEqual(expect.objectContaining({ name: pods[1], cpuCores: 0.055, memoryBytes: 220 * 2 ** 20 }));
    expect(result.nodes).toEqual({ ok: false, reason: "the bot's Kubernetes account may not read nodes (apply deploy/optional/node-read.yaml to allow it)" });
    // Only the two cluster-wide node reads were refused; everything about the pods was granted.
    expect(kube.forbidden.slice(before).map((r) => r.path).sort()).toEqual(['/api/v1/nodes', '/apis/metrics.k8s.io/v1beta1/nodes']);
  });

  it('says so when there is no metrics API', async () => {
    kube.failWith('/apis/metrics.k8s.io', 404);
    expect((await top()).pods).toEqual({ ok: false, reason: 'the metrics API (metrics-server) is not installed' });
  });
});

describe(`top with the optional node grant (${NODE_READ})`, () => {
  let nodeKube: FakeKube;
  let nodeServices: TestServices;
  let nodePods: string[];

  beforeAll(async () => {
    nodeKube = await startFakeKube({ extraRbacFiles: [NODE_READ] });
    nodeServices = await openTestServices({ kubeconfig: nodeKube.kubeconfigPath });
    nodePods = await seedCluster(nodeKube, nodeServices);
  });

  afterAll(async () => {
    await nodeServices?.close();
    await nodeKube?.close();
  });

  afterEach(() => {
    nodeKube.failWith(null, 0);
  });

  it('reads the pods and the nodes as kubectl top does, with their capacity', async () => {
    const result = await top(nodeServices);
    expect(result.pods.ok && result.pods.items.find((p) => p.name === nodePods[0])).toMatchObject({ cpuCores: 0.81, cpuLimit: 1.1 });
    expect(result.nodes).toEqual({
      ok: true,
      note: null,
      items: [
        { name: 'node-a', cpuCores: 1.5, memoryBytes: 6 * 2 ** 30, allocatableCpu: 4, allocatableMemory: 16 * 2 ** 30 },
        { name: 'node-b', cpuCores: 0.25, memoryBytes: 2 * 2 ** 30, allocatableCpu: 4, allocatableMemory: 16 * 2 ** 30 },
      ],
    });
    expect(nodeKube.forbidden).toEqual([]);
  });

  it('still reads node usage when the bot may not list nodes', async () => {
    nodeKube.failWith('/api/v1/nodes', 403);
    const { nodes } = await top(nodeServices);
    expect(nodes).toMatchObject({ ok: true, note: "allocatable capacity unknown: the bot's Kubernetes account may not list nodes (403 Forbidden)" });
    expect(nodes.ok && nodes.items.find((n) => n.name === 'node-a')).toEqual({ name: 'node-a', cpuCores: 1.5, memoryBytes: 6 * 2 ** 30, allocatableCpu: null, allocatableMemory: null });
  });

  it('says so for pods and nodes when there is no metrics API', async () => {
    nodeKube.failWith('/apis/metrics.k8s.io', 404);
    const result = await top(nodeServices);
    expect(result.pods).toEqual({ ok: false, reason: 'the metrics API (metrics-server) is not installed' });
    expect(result.nodes).toEqual({ ok: false, reason: 'the metrics API (metrics-server) is not installed' });
  });
});

describe('without Kubernetes', () => {
  it('logs and top say Kubernetes is not configured', async () => {
    const plain = await openTestServices();
    try {
      expect(await runHandler(logsHandler, handlerContext(plain, actor))).toEqual({ configured: false });
      expect(await runHandler(topHandler, handlerContext(plain, actor))).toEqual({ configured: false });
    } finally {
      await plain.close();
    }
  });
});
