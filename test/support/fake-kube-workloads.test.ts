/**
 * The fake Kubernetes API's rollouts, endpoints, events, volume claims, init containers and
 * ConfigMaps, driven by the real client-node: what the deployment controller, the endpoints
 * controller, the kubelet and the resize controllers would show, in the API's own shapes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api, CoreV1Api, DiscoveryV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from './fake-kube.js';

const NS = 'shop';
const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

let kube: FakeKube;
let apps: AppsV1Api;
let core: CoreV1Api;
let discovery: DiscoveryV1Api;

async function podsOf(app: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: NS, labelSelector: `app=${app}` })).items;
}

function setImage(name: string, container: string, image: string): Promise<unknown> {
  return apps.patchNamespacedDeployment({ name, namespace: NS, body: { spec: { template: { spec: { containers: [{ name: container, image }] } } } } }, strategic);
}

beforeAll(async () => {
  kube = await startFakeKube({ rbac: 'none' });
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  apps = kc.makeApiClient(AppsV1Api);
  core = kc.makeApiClient(CoreV1Api);
  discovery = kc.makeApiClient(DiscoveryV1Api);
});
afterAll(() => kube.close());

describe('rollouts', () => {
  it('a strategic merge patch of one container makes a new revision whose pod replaces the old one', async () => {
    kube.addDeployment({
      namespace: NS,
      name: 'db',
      replicas: 1,
      strategy: 'Recreate',
      containers: [{ name: 'db', image: 'postgres:15.4', requests: { memory: '512Mi' }, limits: { memory: '1Gi' } }, { name: 'exporter' }],
    });
    const [before] = await podsOf('db');
    await apps.patchNamespacedDeployment(
      { name: 'db', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'db', resources: { limits: { memory: '2Gi' } } }] } } } } },
      strategic,
    );
    const deployment = await apps.readNamespacedDeployment({ name: 'db', namespace: NS });
    expect(deployment.metadata?.generation).toBe(2);
    expect(deployment.status?.observedGeneration).toBe(2);
    expect(deployment.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    // The other container and the rest of the resources are left as they were.
    expect(deployment.spec?.template.spec?.containers.map((c) => [c.name, c.image, c.resources])).toEqual([
      ['db', 'postgres:15.4', { requests: { memory: '512Mi' }, limits: { memory: '2Gi' } }],
      ['exporter', 'registry.example.com/exporter:1.0', {}],
    ]);
    const [after, ...more] = await podsOf('db');
    expect(more).toEqual([]);
    expect(after?.metadata?.name).not.toBe(before?.metadata?.name);
    expect(after?.metadata?.labels?.['pod-template-hash']).not.toBe('7d9f8b');
    expect(after?.status?.containerStatuses?.[0]).toMatchObject({ ready: true, image: 'docker.io/library/postgres:15.4', imageID: expect.stringMatching(/^docker\.io\/library\/postgres@sha256:[0-9a-f]{64}$/) });
    expect(deployment.status).toMatchObject({ replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 });
  });

  it('refuses a request above its limit as the API server does, and a patch that is not in a patch format', async () => {
    const invalid = await apps
      .patchNamespacedDeployment({ name: 'db', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'db', resources: { requests: { memory: '4Gi' } } }] } } } } }, strategic)
      .catch((e: unknown) => e as { code: number; body: string });
    expect(invalid).toMatchObject({ code: 422 });
    expect(JSON.parse((invalid as { body: string }).body).message).toBe(
      'Deployment.apps "db" is invalid: spec.template.spec.containers[0].resources.requests: Invalid value: "4Gi": must be less than or equal to memory limit of 2Gi',
    );
    // Without the header, client-node sends a JSON patch: an object is no list of operations.
    await expect(apps.patchNamespacedDeployment({ name: 'db', namespace: NS, body: { spec: {} } })).rejects.toMatchObject({ code: 400 });
  });

  it('a rolling update whose new pod crash-loops keeps the old pod, and taking the old template back reuses its ReplicaSet', async () => {
    kube.addDeployment({ namespace: NS, name: 'api', replicas: 1, containers: [{ name: 'api', image: 'api:1' }], progressDeadlineSeconds: 1 });
    kube.setImageBehaviour('api:2', 'crash-loop');
    const [old] = await podsOf('api');
    await setImage('api', 'api', 'api:2');
    const pods = await podsOf('api');
    expect(pods).toHaveLength(2);
    const fresh = pods.find((p) => p.metadata?.name !== old?.metadata?.name);
    const status = fresh?.status?.containerStatuses?.[0];
    expect(status).toMatchObject({ ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } });
    expect((await apps.readNamespacedDeployment({ name: 'api', namespace: NS })).status).toMatchObject({ replicas: 2, updatedReplicas: 1, readyReplicas: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const stuck = await apps.readNamespacedDeployment({ name: 'api', namespace: NS });
    expect(stuck.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    const warnings = await core.listNamespacedEvent({ namespace: NS, fieldSelector: `type=Warning,involvedObject.name=${fresh?.metadata?.name}` });
    expect(warnings.items.map((e) => [e.reason, e.count])).toEqual([['BackOff', 3]]);

    await setImage('api', 'api', 'api:1');
    const back = await apps.readNamespacedDeployment({ name: 'api', namespace: NS });
    expect(back.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect((await podsOf('api')).map((p) => p.metadata?.name)).toEqual([old?.metadata?.name]);
    expect(back.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe('NewReplicaSetAvailable');
  });

  it('a restart is a template change like any other: a new revision, kept by a later image patch; setRolloutReady(false) leaves its pods not ready', async () => {
    const restart = (at: string) =>
      apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': at } } } } } }, strategic);
    kube.addDeployment({ namespace: NS, name: 'web', replicas: 1, containers: [{ name: 'web', image: 'web:1', envFrom: [{ secretRef: { name: 'web-creds' } }] }] });
    const [first] = await podsOf('web');
    kube.setRolloutReady(NS, 'web', false);
    await restart('2026-12-03T12:00:00Z');
    expect(kube.template(NS, 'web')).toEqual({ annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-12-03T12:00:00Z' }, revision: 2 });
    const stuck = (await podsOf('web')).find((p) => p.metadata?.name !== first?.metadata?.name);
    expect(stuck?.status?.containerStatuses?.[0]?.ready).toBe(false);
    expect(stuck?.spec?.containers[0]?.envFrom).toEqual([{ secretRef: { name: 'web-creds' } }]);
    const warnings = await core.listNamespacedEvent({ namespace: NS, fieldSelector: `type=Warning,involvedObject.name=${stuck?.metadata?.name}` });
    expect(warnings.items.map((e) => e.reason)).toEqual(['Unhealthy']);
    // The same restart again changes nothing; a new image rolls out (ready again) and keeps the annotation.
    kube.setRolloutReady(NS, 'web', true);
    await restart('2026-12-03T12:00:00Z');
    expect(kube.deployment(NS, 'web')?.revision).toBe(2);
    await setImage('web', 'web', 'web:2');
    const d = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
    expect(d.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect(d.spec?.template.metadata?.annotations).toEqual({ 'kubectl.kubernetes.io/restartedAt': '2026-12-03T12:00:00Z' });
    expect(d.status).toMatchObject({ replicas: 1, updatedReplicas: 1, readyReplicas: 1 });
  });
});

describe('endpoints and events', () => {
  it('lists ready pods as addresses and the others as notReadyAddresses, and no subsets without pods', async () => {
    kube.addService({ namespace: NS, name: 'db-service', selector: { app: 'db' }, ports: [{ name: 'postgres', port: 5432 }] });
    kube.addService({ namespace: NS, name: 'nothing', selector: { app: 'nothing' }, ports: [{ port: 80 }] });
    const [pod] = await podsOf('db');
    const ready = await core.readNamespacedEndpoints({ name: 'db-service', namespace: NS });
    expect(ready.subsets).toEqual([
      { addresses: [expect.objectContaining({ ip: pod?.status?.podIP, targetRef: expect.objectContaining({ kind: 'Pod', name: pod?.metadata?.name }) })], ports: [{ name: 'postgres', port: 5432, protocol: 'TCP' }] },
    ]);
    kube.setPod(NS, pod?.metadata?.name ?? '', { ready: false });
    const notReady = await core.readNamespacedEndpoints({ name: 'db-service', namespace: NS });
    expect(notReady.subsets?.[0]?.addresses).toBeUndefined();
    expect(notReady.subsets?.[0]?.notReadyAddresses).toHaveLength(1);
    kube.setPod(NS, pod?.metadata?.name ?? '', { ready: true });
    expect((await core.readNamespacedEndpoints({ name: 'nothing', namespace: NS })).subsets).toBeUndefined();
    await expect(core.readNamespacedEndpoints({ name: 'missing', namespace: NS })).rejects.toMatchObject({ code: 404 });
  });

  it('lists one EndpointSlice per Service by its kubernetes.io/service-name label, readiness as a condition, an empty one without pods', async () => {
    const [pod] = await podsOf('db');
    const sliceOf = async (service: string) => (await discovery.listNamespacedEndpointSlice({ namespace: NS, labelSelector: `kubernetes.io/service-name=${service}` })).items;
    const [slice, ...others] = await sliceOf('db-service');
    expect(others).toEqual([]);
    expect(slice).toMatchObject({ addressType: 'IPv4', metadata: { labels: { 'kubernetes.io/service-name': 'db-service' } }, ports: [{ name: 'postgres', port: 5432, protocol: 'TCP' }] });
    expect(slice?.endpoints).toEqual([expect.objectContaining({ addresses: [pod?.status?.podIP], conditions: expect.objectContaining({ ready: true }), targetRef: expect.objectContaining({ kind: 'Pod', name: pod?.metadata?.name }) })]);
    kube.setPod(NS, pod?.metadata?.name ?? '', { ready: false });
    expect((await sliceOf('db-service'))[0]?.endpoints?.[0]?.conditions?.ready).toBe(false);
    kube.setPod(NS, pod?.metadata?.name ?? '', { ready: true });
    expect((await sliceOf('nothing'))[0]?.endpoints).toBeUndefined();
    expect(await sliceOf('missing')).toEqual([]);
  });

  it('serves events written both ways, selected by type, and refuses unknown selector fields', async () => {
    kube.addEvent({ namespace: NS, involvedObject: { kind: 'Pod', name: 'db-x' }, type: 'Warning', reason: 'FailedScheduling', message: '0/3 nodes are available', count: 4, api: 'events.k8s.io' });
    const list = await core.listNamespacedEvent({ namespace: NS, fieldSelector: 'type=Warning,involvedObject.kind=Pod,reason=FailedScheduling' });
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ reportingComponent: 'default-scheduler', series: { count: 4 } });
    expect(list.items[0]?.lastTimestamp ?? null).toBeNull();
    expect(list.items[0]?.count).toBeUndefined();
    await expect(core.listNamespacedEvent({ namespace: NS, fieldSelector: 'color=red' })).rejects.toMatchObject({ code: 400 });
  });
});

describe('volume claims', () => {
  beforeAll(() => {
    kube.addStorageClass({ name: 'fast', allowVolumeExpansion: true });
    kube.addStorageClass({ name: 'fixed' });
    kube.addVolumeClaim({ namespace: NS, name: 'online', storageClassName: 'fast', size: '10Gi' });
    kube.addVolumeClaim({ namespace: NS, name: 'offline', storageClassName: 'fast', size: '10Gi', resize: 'offline' });
    kube.addVolumeClaim({ namespace: NS, name: 'stuck', storageClassName: 'fixed', size: '10Gi' });
  });

  const grow = (name: string, storage: string) =>
    core.patchNamespacedPersistentVolumeClaim({ name, namespace: NS, body: { spec: { resources: { requests: { storage } } } } }, strategic);
  const message = (e: unknown): string => JSON.parse((e as { body: string }).body).message as string;

  it('expands online: Resizing, then the new capacity', async () => {
    kube.resizeDelayMs = 100;
    try {
      const patched = await grow('online', '20Gi');
      expect(patched.spec?.resources?.requests?.storage).toBe('20Gi');
      expect(patched.status?.capacity?.storage).toBe('10Gi');
      expect(patched.status?.conditions?.map((c) => c.type)).toEqual(['Resizing']);
      await expect.poll(async () => (await core.readNamespacedPersistentVolumeClaim({ name: 'online', namespace: NS })).status?.capacity?.storage).toBe('20Gi');
      expect((await core.readNamespacedPersistentVolumeClaim({ name: 'online', namespace: NS })).status?.conditions).toBeUndefined();
    } finally {
      kube.resizeDelayMs = 0;
    }
  });

  it('expands offline: FileSystemResizePending until a pod starts', async () => {
    const patched = await grow('offline', '15Gi');
    expect(patched.status?.conditions?.[0]).toMatchObject({ type: 'FileSystemResizePending', status: 'True', message: 'Waiting for user to (re-)start a pod to finish file system resize of volume on node.' });
    expect(patched.status?.capacity?.storage).toBe('10Gi');
    kube.addDeployment({ namespace: NS, name: 'restarted', replicas: 1 });
    expect(kube.volumeClaim(NS, 'offline')).toEqual({ requested: '15Gi', capacity: '15Gi', conditions: [] });
  });

  it('refuses to shrink (422) and to grow on a class without allowVolumeExpansion (403)', async () => {
    expect(message(await grow('online', '5Gi').catch((e: unknown) => e))).toBe(
      'PersistentVolumeClaim "online" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than previous value',
    );
    const refused = await grow('stuck', '20Gi').catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 403 });
    expect(message(refused)).toContain('only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize');
    expect(kube.volumeClaim(NS, 'stuck')?.requested).toBe('10Gi');
  });
});

describe('init containers and ConfigMaps', () => {
  it('a pod is Pending and not ready until its init container has exited 0; its log and status read as the kubelet reports them', async () => {
    kube.addDeployment({ namespace: NS, name: 'pg', replicas: 0, strategy: 'Recreate', containers: [{ name: 'pg' }], initContainers: [{ name: 'prepare' }] });
    const scaled: number[] = [];
    kube.onScale(NS, 'pg', (replicas) => void scaled.push(replicas));
    await apps.patchNamespacedDeploymentScale({ name: 'pg', namespace: NS, body: { spec: { replicas: 1 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await expect.poll(() => scaled).toEqual([1]);
    const [name] = kube.podsOf(NS, 'pg');
    const [starting] = await podsOf('pg');
    expect(starting?.metadata?.name).toBe(name);
    expect(starting?.spec?.initContainers?.map((c) => c.name)).toEqual(['prepare']);
    expect(starting?.status?.phase).toBe('Pending');
    expect(starting?.status?.conditions?.find((c) => c.type === 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized' });
    expect(starting?.status?.initContainerStatuses?.[0]?.state?.running).toBeDefined();
    expect(starting?.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('PodInitializing');
    expect((await apps.readNamespacedDeployment({ name: 'pg', namespace: NS })).status?.readyReplicas).toBeUndefined();

    kube.setLogs(NS, name ?? '', 'prepare', 'prepared\n');
    expect(await core.readNamespacedPodLog({ name: name ?? '', namespace: NS, container: 'prepare' })).toBe('prepared\n');
    kube.setInitContainer(NS, name ?? '', 'prepare', { terminated: 0 });
    const [started] = await podsOf('pg');
    expect(started?.status?.phase).toBe('Running');
    expect(started?.status?.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect((await apps.readNamespacedDeployment({ name: 'pg', namespace: NS })).status?.readyReplicas).toBe(1);
  });

  it('a ConfigMap answers get and a merge patch of its data (null removes a key), and 404 when it does not exist', async () => {
    kube.addConfigMap(NS, 'box', { A: '1', B: '2' });
    const patched = await core.patchNamespacedConfigMap({ name: 'box', namespace: NS, body: { data: { A: 'one', B: null, C: '3' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect(patched.data).toEqual({ A: 'one', C: '3' });
    expect((await core.readNamespacedConfigMap({ name: 'box', namespace: NS })).data).toEqual({ A: 'one', C: '3' });
    expect(kube.configMap(NS, 'box')).toEqual({ A: 'one', C: '3' });
    await expect(core.readNamespacedConfigMap({ name: 'none', namespace: NS })).rejects.toMatchObject({ code: 404 });
  });
});
