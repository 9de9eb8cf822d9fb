import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  Log,
  Metrics,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from './fake-kube.js';

let kube: FakeKube;
let kc: KubeConfig;
let apps: AppsV1Api;
let core: CoreV1Api;

beforeAll(async () => {
  // The fake's own behaviour, in a namespace of its own: RBAC is tested in fake-kube-rbac.test.ts.
  kube = await startFakeKube({ rbac: 'none' });
  kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  apps = kc.makeApiClient(AppsV1Api);
  core = kc.makeApiClient(CoreV1Api);
  kube.addDeployment({
    namespace: 'recipes',
    name: 'recipedb-api',
    replicas: 2,
    containers: [{ name: 'api', requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } }],
  });
  kube.addDeployment({ namespace: 'recipes', name: 'worker', replicas: 1 });
});
afterAll(() => kube.close());

async function readLogs(pod: string, container: string, options: { tailLines?: number; sinceSeconds?: number; timestamps?: boolean }): Promise<string> {
  let text = '';
  const done = new Promise<void>((resolve, reject) => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        text += chunk.toString('utf8');
        cb();
      },
    });
    sink.on('finish', resolve).on('error', reject);
    new Log(kc).log('recipes', pod, container, sink, options).catch(reject);
  });
  await done;
  return text;
}

describe('fake Kubernetes API (driven by the real client-node)', () => {
  it('reads a deployment', async () => {
    const d = await apps.readNamespacedDeployment({ name: 'recipedb-api', namespace: 'recipes' });
    expect(d.kind).toBe('Deployment');
    expect(d.spec?.replicas).toBe(2);
    expect(d.status?.readyReplicas).toBe(2);
    expect(d.spec?.template.spec?.containers[0]?.resources?.limits).toEqual({ cpu: '1', memory: '512Mi' });
    await expect(apps.readNamespacedDeployment({ name: 'nope', namespace: 'recipes' })).rejects.toMatchObject({ code: 404 });
  });

  it('scales with a merge patch and records the content type', async () => {
    const scale = await apps.patchNamespacedDeploymentScale(
      { name: 'recipedb-api', namespace: 'recipes', body: { spec: { replicas: 3 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(scale.spec?.replicas).toBe(3);
    expect(scale.status?.selector).toBe('app=recipedb-api');
    const patch = kube.requests.find((r) => r.method === 'PATCH');
    expect(patch?.contentType).toBe('application/merge-patch+json');
    expect(patch?.body).toEqual({ spec: { replicas: 3 } });
    expect(kube.deployment('recipes', 'recipedb-api')?.status.readyReplicas).toBe(3);

    const readBack = await apps.readNamespacedDeploymentScale({ name: 'recipedb-api', namespace: 'recipes' });
    expect(readBack.status?.replicas).toBe(3);
  });

  it('applies a JSON patch (the client default) and honours rolloutDelayMs', async () => {
    kube.rolloutDelayMs = 150;
    try {
      await apps.patchNamespacedDeploymentScale({
        name: 'worker',
        namespace: 'recipes',
        body: [{ op: 'replace', path: '/spec/replicas', value: 2 }],
      });
      expect(kube.deployment('recipes', 'worker')).toMatchObject({ spec: { replicas: 2 }, status: { readyReplicas: 1 } });
      await expect.poll(() => kube.deployment('recipes', 'worker')?.status.readyReplicas, { timeout: 2000 }).toBe(2);
      const pods = await core.listNamespacedPod({ namespace: 'recipes', labelSelector: 'app=worker' });
      expect(pods.items).toHaveLength(2);
    } finally {
      kube.rolloutDelayMs = 0;
    }
  });

  it('lists pods by label selector', async () => {
    const pods = await core.listNamespacedPod({ namespace: 'recipes', labelSelector: 'app=recipedb-api' });
    expect(pods.items).toHaveLength(3);
    const pod = pods.items[0];
    expect(pod?.metadata?.name).toMatch(/^recipedb-api-7d9f8b-[a-z0-9]{5}$/);
    expect(pod?.status?.phase).toBe('Running');
    expect(pod?.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    expect(pod?.spec?.containers[0]?.resources?.requests).toEqual({ cpu: '250m', memory: '256Mi' });

    kube.setPod('recipes', pod?.metadata?.name ?? '', { ready: false, restarts: 4 });
    const again = await core.readNamespacedPod({ namespace: 'recipes', name: pod?.metadata?.name ?? '' });
    expect(again.status?.containerStatuses?.[0]?.restartCount).toBe(4);
    expect(again.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(kube.deployment('recipes', 'recipedb-api')?.status.readyReplicas).toBe(2);
  });

  it('reads logs honouring tailLines, sinceSeconds and timestamps', async () => {
    const pods = await core.listNamespacedPod({ namespace: 'recipes', labelSelector: 'app=worker' });
    const pod = pods.items[0]?.metadata?.name ?? '';
    const old = new Date(Date.now() - 3_600_000).toISOString();
    const recent = new Date(Date.now() - 5_000).toISOString();
    kube.setLogs('recipes', pod, 'worker', `${old} line one\n${recent} line two\n${recent} line three\n`);

    expect(await readLogs(pod, 'worker', { tailLines: 2 })).toBe('line two\nline three\n');
    expect(await readLogs(pod, 'worker', { sinceSeconds: 60 })).toBe('line two\nline three\n');
    expect(await readLogs(pod, 'worker', { tailLines: 1, timestamps: true })).toBe(`${recent} line three\n`);
    expect(kube.requests.find((r) => r.path.endsWith('/log'))?.query).toMatchObject({ container: 'worker', tailLines: '2' });
  });

  it("serves the previous container's log with previous=true, and 400 as the real API when there is none", async () => {
    const pods = await core.listNamespacedPod({ namespace: 'recipes', labelSelector: 'app=worker' });
    const pod = pods.items[0]?.metadata?.name ?? '';
    const url = (previous: boolean) => `${kube.url}/api/v1/namespaces/recipes/pods/${pod}/log?container=worker&previous=${previous}`;
    const none = await fetch(url(true));
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({
      kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400,
      message: `previous terminated container "worker" in pod "${pod}" not found`,
    });
    kube.setPreviousLogs('recipes', pod, 'worker', 'before the crash\n');
    expect(await (await fetch(url(true))).text()).toBe('before the crash\n');
    expect(await (await fetch(url(false))).text()).not.toContain('before the crash');
  });

  it('serves pod and node metrics', async () => {
    const pods = await core.listNamespacedPod({ namespace: 'recipes', labelSelector: 'app=recipedb-api' });
    const name = pods.items[0]?.metadata?.name ?? '';
    kube.setPodMetrics('recipes', name, { api: { cpu: '250m', memory: '300Mi' } });
    const metrics = await new Metrics(kc).getPodMetrics('recipes');
    expect(metrics.items).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ name, namespace: 'recipes' }), window: '30s', containers: [{ name: 'api', usage: { cpu: '250m', memory: '300Mi' } }] }),
    ]);

    kube.setNodes([{ name: 'node-a', cpu: '1500m', memory: '6Gi', allocatableCpu: '4', allocatableMemory: '16Gi' }]);
    const nodeMetrics = await new Metrics(kc).getNodeMetrics();
    expect(nodeMetrics.items[0]?.usage).toEqual({ cpu: '1500m', memory: '6Gi' });
    const nodes = await core.listNode();
    expect(nodes.items[0]?.status?.allocatable).toMatchObject({ cpu: '4', memory: '16Gi' });
  });

  it('answers unknown paths with a NotFound Status and injects failures', async () => {
    const res = await fetch(`${kube.url}/apis/batch/v1/namespaces/recipes/jobs`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });

    kube.failWith('/apis/apps/v1/namespaces/recipes/deployments/worker', 503);
    await expect(apps.readNamespacedDeployment({ name: 'worker', namespace: 'recipes' })).rejects.toMatchObject({ code: 503 });
    kube.failWith(null, 0);
    await expect(apps.readNamespacedDeployment({ name: 'worker', namespace: 'recipes' })).resolves.toMatchObject({ kind: 'Deployment' });
  });

  it('a hung path never answers', async () => {
    kube.hang('/apis/metrics.k8s.io/');
    try {
      const outcome = await Promise.race([
        new Metrics(kc).getPodMetrics('recipes').then(() => 'answered'),
        new Promise<string>((resolve) => setTimeout(() => resolve('timed out'), 500)),
      ]);
      expect(outcome).toBe('timed out');
      expect(kube.requests.at(-1)?.path).toBe('/apis/metrics.k8s.io/v1beta1/namespaces/recipes/pods');

      const aborted = fetch(`${kube.url}/apis/metrics.k8s.io/v1beta1/nodes`, { signal: AbortSignal.timeout(200) });
      await expect(aborted).rejects.toThrow();
    } finally {
      kube.hang(null);
    }
  });
});

describe('fake Secrets (the API server\'s shapes: base64 data, write-only stringData)', () => {
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

  it('creates from data and stringData, reads base64 back, and refuses a second one of the name', async () => {
    const created = await core.createNamespacedSecret({
      namespace: 'recipes',
      body: { metadata: { name: 'creds', labels: { team: 'db' } }, data: { username: b64('alice') }, stringData: { password: 'p@ss' } },
    });
    expect(created.data).toEqual({ username: b64('alice'), password: b64('p@ss') });
    expect(created.stringData).toBeUndefined();
    const read = await core.readNamespacedSecret({ name: 'creds', namespace: 'recipes' });
    expect(read).toMatchObject({ kind: 'Secret', type: 'Opaque', metadata: { name: 'creds', labels: { team: 'db' } }, data: { password: b64('p@ss') } });
    expect(kube.secret('recipes', 'creds')?.values).toEqual({ username: 'alice', password: 'p@ss' });
    await expect(core.createNamespacedSecret({ namespace: 'recipes', body: { metadata: { name: 'creds' } } })).rejects.toMatchObject({ code: 409 });
    await expect(core.createNamespacedSecret({ namespace: 'recipes', body: { metadata: { name: 'Bad_Name' } } })).rejects.toMatchObject({ code: 422 });
    await expect(core.createNamespacedSecret({ namespace: 'recipes', body: { metadata: { name: 'bad-data' }, data: { k: 'not base64!' } } })).rejects.toMatchObject({ code: 400 });
    await expect(core.readNamespacedSecret({ name: 'nope', namespace: 'recipes' })).rejects.toMatchObject({ code: 404 });
  });

  it('merge-patches data (null removes a key), checks resourceVersion, and changes nothing on a dry run', async () => {
    kube.addSecret('recipes', 'app', { API_PASSWORD: 'old' });
    const { metadata } = await core.readNamespacedSecret({ name: 'app', namespace: 'recipes' });
    const version = metadata?.resourceVersion ?? '';
    await core.patchNamespacedSecret({ name: 'app', namespace: 'recipes', body: { data: { API_PASSWORD: b64('new') }, metadata: { resourceVersion: version } } }, merge);
    expect(kube.secret('recipes', 'app')?.values).toEqual({ API_PASSWORD: 'new' });
    // The same precondition again: the Secret changed since, so it conflicts.
    await expect(
      core.patchNamespacedSecret({ name: 'app', namespace: 'recipes', body: { data: { API_PASSWORD: b64('x') }, metadata: { resourceVersion: version } } }, merge),
    ).rejects.toMatchObject({ code: 409 });
    await core.patchNamespacedSecret({ name: 'app', namespace: 'recipes', body: { data: { API_PASSWORD: b64('dry') } }, dryRun: 'All' }, merge);
    expect(kube.secret('recipes', 'app')?.values).toEqual({ API_PASSWORD: 'new' });
    await core.patchNamespacedSecret({ name: 'app', namespace: 'recipes', body: { stringData: { EXTRA: 'e' }, data: { API_PASSWORD: null } } }, merge);
    expect(kube.secret('recipes', 'app')?.values).toEqual({ EXTRA: 'e' });
    await expect(core.patchNamespacedSecret({ name: 'app', namespace: 'recipes', body: [{ op: 'remove', path: '/data' }] })).rejects.toMatchObject({ code: 415 });
  });
});

describe('fake deployment restarts (a pod template patch and its rollout)', () => {
  const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
  const restart = (name: string, at: string, dryRun?: string) =>
    apps.patchNamespacedDeployment(
      { name, namespace: 'recipes', body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': at } } } } }, dryRun },
      strategic,
    );
  const podsOf = async (app: string) => (await core.listNamespacedPod({ namespace: 'recipes', labelSelector: `app=${app}` })).items;

  it('replaces every pod with one of a new template hash, as kubectl rollout restart does', async () => {
    kube.addDeployment({
      namespace: 'recipes',
      name: 'reader',
      replicas: 2,
      containers: [{ name: 'api', env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'app', key: 'API_PASSWORD' } } }] }],
      volumes: [{ name: 'creds', secret: { secretName: 'app' } }],
    });
    const before = await podsOf('reader');
    expect(before[0]?.spec?.containers[0]?.env?.[0]?.valueFrom?.secretKeyRef).toEqual({ name: 'app', key: 'API_PASSWORD' });
    expect(before[0]?.spec?.volumes?.[0]?.secret?.secretName).toBe('app');

    await restart('reader', '2026-12-03T12:00:00Z', 'All');
    expect(kube.template('recipes', 'reader')).toEqual({ annotations: {}, revision: 1 });

    const patched = await restart('reader', '2026-12-03T12:00:00Z');
    expect(patched.metadata?.generation).toBe(2);
    expect(patched.spec?.template.metadata?.annotations).toEqual({ 'kubectl.kubernetes.io/restartedAt': '2026-12-03T12:00:00Z' });
    const after = await podsOf('reader');
    expect(after).toHaveLength(2);
    const hash = after[0]?.metadata?.labels?.['pod-template-hash'];
    expect(hash).not.toBe(before[0]?.metadata?.labels?.['pod-template-hash']);
    expect(after.every((p) => p.metadata?.ownerReferences?.[0]?.name === `reader-${hash}`)).toBe(true);
    const d = await apps.readNamespacedDeployment({ name: 'reader', namespace: 'recipes' });
    expect(d.status).toMatchObject({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 });
    expect(d.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
  });

  it('keeps the old pods running when the new ones never become ready', async () => {
    kube.addDeployment({ namespace: 'recipes', name: 'stuck', replicas: 2 });
    kube.setRolloutReady('recipes', 'stuck', false);
    await restart('stuck', '2026-12-03T12:00:00Z');
    const d = await apps.readNamespacedDeployment({ name: 'stuck', namespace: 'recipes' });
    expect(d.status).toMatchObject({ replicas: 4, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
    await expect(
      // A merge patch replaces the list (a strategic one would merge nothing into it by name).
      apps.patchNamespacedDeployment({ name: 'stuck', namespace: 'recipes', body: { spec: { template: { spec: { containers: [] } } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
    ).rejects.toMatchObject({ code: 422 });
  });
});

