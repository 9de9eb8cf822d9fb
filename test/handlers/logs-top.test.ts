/**
 * `logs` and `top` against the fake Kubernetes API through the real client, the way the runbook's
 * "Log Review" and "Check resource usage" use kubectl: two database pods with their logs (some
 * ERROR lines), usage of pods and nodes. The fake enforces deploy/'s RBAC, which does not let the
 * bot read nodes; a second cluster has the optional node grant (deploy/optional/node-read.yaml).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { LIMITS } from '../../src/bot/blocks.js';
import { dispatchCommand, type Reply } from '../../src/bot/dispatch.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { openTestServices, type TestServices } from '../support/services.js';

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

async function run(line: string, client: TestServices = services): Promise<{ reply: Reply; text: string }> {
  const reply = await dispatchCommand(line, actor, client);
  expect(reply.message.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
  expect(JSON.stringify(reply.message.blocks).length).toBeLessThanOrEqual(LIMITS.messageChars);
  return { reply, text: renderBlocks(reply.message, { width: 250 }).text };
}

describe('logs', () => {
  it('shows every pod of the deployment with error lines marked', async () => {
    const { reply, text } = await run('logs');
    expect(reply.outcome).toBe('ok');
    expect(text).toContain('Logs of recipe-database/recipe-database');
    expect(text).toContain('last 100 lines · container recipe-database');
    expect(text).toContain(`${pods[0]} — 6 lines · 🔴 2 errors (ERROR/FATAL/PANIC)`);
    expect(text).toContain('🔴 2026-11-29 09:30:00 UTC [77] ERROR:  relation "recipe_manager.recipe" does not exist');
    expect(text).toContain('🔴 2026-11-29 10:40:00 UTC [79] FATAL:  password authentication failed');
    expect(text).toMatch(/\n\s+2026-11-29 10:30:00 UTC \[78\] LOG: {2}checkpoint starting/);
    // Text from the log reaches Slack escaped, and reads back as written.
    expect(text).toContain(`WHERE note = 'x<y & z>w'`);
    expect(JSON.stringify(reply.message.blocks)).toContain('x&lt;y &amp; z&gt;w');
    expect(text).toContain(`${pods[1]} — 1 line · no errors`);
    expect(text).toContain('replica says hello');
    expect(kube.forbidden).toEqual([]);
  });

  it('--grep keeps the lines containing the word in any case, taken literally', async () => {
    const { text } = await run('logs --grep "connection RESET"');
    expect(text).toContain('containing "connection RESET" (any case)');
    expect(text).toContain('could not receive data from client: Connection reset by peer');
    expect(text).not.toContain('checkpoint starting');
    expect(text).toContain(`${pods[1]}: no matching lines among the 1 read`);

    const literal = await run('logs --grep a.b(c)');
    expect(literal.text).toContain('SELECT a.b(c) FROM recipes');
    expect(literal.text).not.toContain('checkpoint');
    const notARegex = await run('logs --grep "a.b.c"');
    expect(notARegex.text).not.toContain('SELECT a.b(c)');
  });

  it('--since asks the server for the recent lines only', async () => {
    const { text } = await run('logs --since 1h');
    expect(text).toContain('since 1h ago');
    expect(text).toContain('checkpoint starting');
    expect(text).not.toContain('database system is ready');
    expect(text).not.toContain('relation "recipe_manager.recipe" does not exist');
    const request = kube.requests.filter((r) => r.path.endsWith('/log')).at(-1);
    expect(request?.query.sinceSeconds).toBe('3600');
  });

  it('--lines keeps the newest lines', async () => {
    const { text } = await run('logs --lines 2');
    expect(text).toContain(`${pods[0]} — 2 lines · no errors`);
    expect(text).toContain('Connection reset by peer');
    expect(text).not.toContain('checkpoint starting');
  });

  it('--container reads another container, and an unknown one lists the valid ones', async () => {
    const exporter = await run('logs --container postgres-exporter');
    expect(kube.forbidden).toEqual([]);
    expect(exporter.text).toContain('container postgres-exporter');
    expect(exporter.text).toContain('🔴 ts=2026-11-29T10:00:00Z level=error msg="Error opening connection to database"');

    const unknown = await run('logs --container pgbouncer');
    expect(unknown.reply.outcome).toBe('failed');
    expect(unknown.text).toContain(
      '`logs` failed: there is no container "pgbouncer" in the pods of recipe-database/recipe-database; valid containers: recipe-database, postgres-exporter',
    );
  });

  it('answers bad options with the usage', async () => {
    for (const [line, message] of [
      ['logs --lines 0', '`logs` --lines must be between 1 and 1000.'],
      ['logs --since soon', '`logs` --since takes a duration like 30s, 10m or 2h.'],
      ['logs --grep', '`logs` --grep takes a word to look for.'],
      ['logs --container "Bad Name"', '`logs` --container takes a container name'],
      ['logs error', '`logs` takes no words, only options: to search for "error" use --grep'],
      ['logs --follow', '`logs` does not take --follow'],
    ] as const) {
      const { reply, text } = await run(line);
      expect(reply.outcome, line).toBe('usage');
      expect(text, line).toContain(message);
      expect(text, line).toContain('Usage: `/recipedb logs [--previous] [--since D] [--grep WORD] [--container NAME] [--lines N]`');
    }
  });

  it('keeps a long log within Slack limits, the newest lines kept', async () => {
    const long = Array.from({ length: 1_000 }, (_, i) => `2026-11-29 10:00:00 UTC [${i}] ${i % 97 === 0 ? 'ERROR' : 'LOG'}:  line ${i} ${'x'.repeat(120)}`).join('\n');
    kube.setLogs(NS, pods[1] ?? '', 'recipe-database', long);
    try {
      const { text } = await run('logs --lines 1000');
      expect(text).toContain('line 999 ');
      expect(text).not.toContain('line 0 ');
      expect(text).toMatch(/… \d+ earlier lines not shown/);
      expect(text).toMatch(new RegExp(`${pods[1]} — 1000 lines · 🔴 11 errors \\(ERROR/FATAL/PANIC\\), \\d+ of them in the lines not shown \\(try --grep ERROR\\) · newest \\d+ shown`));
    } finally {
      kube.setLogs(NS, pods[1] ?? '', 'recipe-database', '2026-11-29 10:00:00 UTC [5] LOG:  replica says hello\n');
    }
  });

  it('fails in one sentence when the API does not answer', async () => {
    kube.failWith('/apis/apps', 403);
    const { reply, text } = await run('logs');
    expect(reply.outcome).toBe('failed');
    expect(text).toContain("`logs` failed: the bot's Kubernetes account may not read the deployment recipe-database/recipe-database (403 Forbidden)");
  });
});

describe('top', () => {
  it('shows the pods, and says in one sentence that deploy/\'s account may not read nodes', async () => {
    const before = kube.forbidden.length;
    const { reply, text } = await run('top');
    expect(reply.outcome).toBe('ok');
    expect(text).toContain('Pods in recipe-database');
    expect(text).toMatch(/NAME\s+CPU\s+CPU\/LIMIT\s+MEMORY\s+MEMORY\/LIMIT\s+NODE/);
    // 810m of 1.1 cores of limits; 930Mi of 1152Mi.
    expect(text).toMatch(new RegExp(`${pods[0]}\\s+810m\\s+74%\\s+930Mi\\s+81%\\s+node-[ab]`));
    expect(text).toMatch(new RegExp(`${pods[1]}\\s+55m\\s+5%\\s+220Mi\\s+19%\\s+node-[ab]`));
    expect(text).toContain("Nodes: unavailable — the bot's Kubernetes account may not read nodes (apply deploy/optional/node-read.yaml to allow it)");
    expect(text).not.toMatch(/NAME\s+CPU\s+CPU%/);
    // Only the two cluster-wide node reads were refused; everything about the pods was granted.
    expect(kube.forbidden.slice(before).map((r) => r.path).sort()).toEqual(['/api/v1/nodes', '/apis/metrics.k8s.io/v1beta1/nodes']);
  });

  it('says so in one line when there is no metrics API', async () => {
    kube.failWith('/apis/metrics.k8s.io', 404);
    const { reply, text } = await run('top');
    expect(reply.outcome).toBe('ok');
    expect(text).toContain('Pods in recipe-database: unavailable — the metrics API (metrics-server) is not installed');
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

  it('shows the pods and the nodes as kubectl top does, with percentages', async () => {
    const { text } = await run('top', nodeServices);
    expect(text).toMatch(new RegExp(`${nodePods[0]}\\s+810m\\s+74%\\s+930Mi\\s+81%\\s+node-[ab]`));
    expect(text).toMatch(/NAME\s+CPU\s+CPU%\s+MEMORY\s+MEMORY%/);
    expect(text).toMatch(/node-a\s+1\.5 cores\s+38%\s+6Gi\s+38%/);
    expect(text).toMatch(/node-b\s+250m\s+6%\s+2Gi\s+13%/);
    expect(nodeKube.forbidden).toEqual([]);
  });

  it('still shows node usage when the bot may not list nodes', async () => {
    nodeKube.failWith('/api/v1/nodes', 403);
    const { text } = await run('top', nodeServices);
    expect(text).toMatch(/node-a\s+1\.5 cores\s+-\s+6Gi\s+-/);
    expect(text).toContain("allocatable capacity unknown: the bot's Kubernetes account may not list nodes (403 Forbidden)");
  });

  it('says so in one line per table when there is no metrics API', async () => {
    nodeKube.failWith('/apis/metrics.k8s.io', 404);
    const { reply, text } = await run('top', nodeServices);
    expect(reply.outcome).toBe('ok');
    expect(text).toContain('Pods in recipe-database: unavailable — the metrics API (metrics-server) is not installed');
    expect(text).toContain('Nodes: unavailable — the metrics API (metrics-server) is not installed');
  });
});

describe('without Kubernetes', () => {
  it('logs and top answer in one line', async () => {
    const plain = await openTestServices();
    try {
      for (const [command, words] of [
        ['logs', 'no pod logs to read'],
        ['top', 'no pod or node usage to show'],
      ] as const) {
        const reply = await dispatchCommand(command, actor, plain);
        expect(reply.outcome).toBe('ok');
        const text = renderBlocks(reply.message, { width: 250 }).text;
        expect(text).toContain('Kubernetes is not configured');
        expect(text).toContain(words);
        expect(text.trim().split('\n')).toHaveLength(1);
      }
    } finally {
      await plain.close();
    }
  });
});
