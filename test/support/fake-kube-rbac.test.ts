/**
 * The fake Kubernetes API enforcing deploy/'s RBAC, driven through the real client as the bot's
 * ServiceAccount: what the Roles grant passes, anything else gets the API server's own 403 Status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api, AuthorizationV1Api, CoreV1Api, DiscoveryV1Api, KubeConfig, Metrics, PatchStrategy, StorageV1Api, VersionApi, setHeaderOptions } from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from './fake-kube.js';
import { rbacFrom, requestAttributes } from './fake-kube-rbac.js';
import type { Manifest } from './manifests.js';

const USER = 'system:serviceaccount:recipedb-ops:recipedb-ops';
const DB = 'recipe-database';
const APP = 'default';

interface Clients {
  apps: AppsV1Api;
  core: CoreV1Api;
  discovery: DiscoveryV1Api;
  metrics: Metrics;
  config: KubeConfig;
}

function clientsFor(fake: FakeKube): Clients {
  const config = new KubeConfig();
  config.loadFromFile(fake.kubeconfigPath);
  return { apps: config.makeApiClient(AppsV1Api), core: config.makeApiClient(CoreV1Api), discovery: config.makeApiClient(DiscoveryV1Api), metrics: new Metrics(config), config };
}

/** The Status object of a refused call (the client hands the body over as text or parsed). */
async function refusal(call: Promise<unknown>): Promise<{ code: number; status: Record<string, unknown> }> {
  const error: unknown = await call.then(
    () => {
      throw new Error('the call was allowed');
    },
    (e: unknown) => e,
  );
  const { code, body } = error as { code: number; body: unknown };
  const status = typeof body === 'string' ? (JSON.parse(body) as Record<string, unknown>) : ((body ?? {}) as Record<string, unknown>);
  return { code, status };
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let kube: FakeKube;
let api: Clients;
let databasePod: string;

beforeAll(async () => {
  kube = await startFakeKube();
  kube.addDeployment({ namespace: DB, name: 'recipe-database', replicas: 1 });
  kube.addDeployment({ namespace: APP, name: 'recipe-app', replicas: 2 });
  kube.addDeployment({ namespace: APP, name: 'payments', replicas: 2 });
  api = clientsFor(kube);
  const pods = await api.core.listNamespacedPod({ namespace: DB, labelSelector: 'app=recipe-database' });
  databasePod = pods.items[0]?.metadata?.name ?? '';
  kube.setLogs(DB, databasePod, 'recipe-database', 'LOG:  database system is ready to accept connections\n');
});

afterAll(() => kube.close());

describe("deploy/'s RBAC on the fake API", () => {
  it('allows the reads the bot makes in the database namespace', async () => {
    const deployment = await api.apps.readNamespacedDeployment({ name: 'recipe-database', namespace: DB });
    expect(deployment.metadata?.name).toBe('recipe-database');
    expect(databasePod).toMatch(/^recipe-database-/);
    const log = await api.core.readNamespacedPodLog({ name: databasePod, namespace: DB, container: 'recipe-database', tailLines: 10 });
    expect(log).toContain('ready to accept connections');
    const usage = await api.metrics.getPodMetrics(DB);
    expect(usage.kind).toBe('PodMetricsList');
    // Granted but absent is the API's 404, not a 403.
    const missing = await refusal(api.core.readNamespacedPodLog({ name: 'recipe-database-gone', namespace: DB }));
    expect(missing.code).toBe(404);
    expect(kube.forbidden).toEqual([]);
  });

  it('allows reading and patching the scale of the application, and reading the deployment to follow the rollout', async () => {
    const scale = await api.apps.readNamespacedDeploymentScale({ name: 'recipe-app', namespace: APP });
    expect(scale.spec?.replicas).toBe(2);
    await api.apps.patchNamespacedDeploymentScale({ name: 'recipe-app', namespace: APP, body: { spec: { replicas: 3 } } }, mergePatch);
    expect(kube.deployment(APP, 'recipe-app')?.spec.replicas).toBe(3);
    const deployment = await api.apps.readNamespacedDeployment({ name: 'recipe-app', namespace: APP });
    expect(deployment.status?.readyReplicas).toBe(3);
    expect(await api.config.makeApiClient(VersionApi).getCode()).toMatchObject({ major: '1' });
  });

  it('refuses exec into a pod and reading secrets with the API server\'s Status', async () => {
    const exec = await refusal(api.core.connectPostNamespacedPodExec({ name: databasePod, namespace: DB, command: 'sh' }));
    expect(exec.code).toBe(403);
    expect(exec.status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `pods "${databasePod}" is forbidden: User "${USER}" cannot create resource "pods/exec" in API group "" in the namespace "recipe-database"`,
      reason: 'Forbidden',
      details: { name: databasePod, kind: 'pods' },
      code: 403,
    });

    const secret = await refusal(api.core.readNamespacedSecret({ name: 'recipedb-ops', namespace: DB }));
    expect(secret.status.message).toBe(
      `secrets "recipedb-ops" is forbidden: User "${USER}" cannot get resource "secrets" in API group "" in the namespace "recipe-database"`,
    );
    const secrets = await refusal(api.core.listNamespacedSecret({ namespace: 'recipedb-ops' }));
    expect(secrets.status.message).toBe(`secrets is forbidden: User "${USER}" cannot list resource "secrets" in API group "" in the namespace "recipedb-ops"`);
  });

  it('refuses scaling a deployment the Role does not name, and patching a deployment the Roles do not name', async () => {
    const scale = await refusal(
      api.apps.patchNamespacedDeploymentScale({ name: 'payments', namespace: APP, body: { spec: { replicas: 0 } } }, mergePatch),
    );
    expect(scale.code).toBe(403);
    expect(scale.status.message).toBe(
      `deployments.apps "payments" is forbidden: User "${USER}" cannot patch resource "deployments/scale" in API group "apps" in the namespace "default"`,
    );
    expect(scale.status.details).toEqual({ name: 'payments', group: 'apps', kind: 'deployments' });
    expect(kube.deployment(APP, 'payments')?.spec.replicas).toBe(2);

    // recipe-app may be patched (a password rotation restarts it), recipe-database too (resize, image); no other deployment may.
    const edit = await refusal(
      api.apps.patchNamespacedDeployment(
        { name: 'payments', namespace: APP, body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } } } } } },
        mergePatch,
      ),
    );
    expect(edit.status.message).toBe(`deployments.apps "payments" is forbidden: User "${USER}" cannot patch resource "deployments" in API group "apps" in the namespace "default"`);
  });

  it('reads and patches only the named Secrets, may create Secrets next to the database, and never lists them', async () => {
    kube.addSecret(DB, 'recipe-database-secret', { API_PASSWORD: 'x' });
    kube.addSecret(DB, 'postgres-superuser', { password: 'y' });
    await expect(api.core.readNamespacedSecret({ name: 'recipe-database-secret', namespace: DB })).resolves.toMatchObject({ kind: 'Secret' });
    const other = await refusal(api.core.readNamespacedSecret({ name: 'postgres-superuser', namespace: DB }));
    expect(other.status.message).toBe(`secrets "postgres-superuser" is forbidden: User "${USER}" cannot get resource "secrets" in API group "" in the namespace "recipe-database"`);
    const list = await refusal(api.core.listNamespacedSecret({ namespace: DB }));
    expect(list.status.message).toBe(`secrets is forbidden: User "${USER}" cannot list resource "secrets" in API group "" in the namespace "recipe-database"`);
    await expect(api.core.createNamespacedSecret({ namespace: DB, body: { metadata: { name: 'recipedb-user-new' }, stringData: { password: 'z' } } })).resolves.toMatchObject({ kind: 'Secret' });
    // Created, but not readable afterwards: patch and get are by name only.
    expect((await refusal(api.core.readNamespacedSecret({ name: 'recipedb-user-new', namespace: DB }))).code).toBe(403);
    expect((await refusal(api.core.createNamespacedSecret({ namespace: APP, body: { metadata: { name: 'x' } } }))).code).toBe(403);
  });

  it('grants a Role only in its own namespace', async () => {
    // Pods may be listed in the database's namespace, not in the application's.
    const pods = await refusal(api.core.listNamespacedPod({ namespace: APP }));
    expect(pods.status.message).toBe(`pods is forbidden: User "${USER}" cannot list resource "pods" in API group "" in the namespace "default"`);
    // recipe-app may be scaled in default; the same name elsewhere may not.
    const elsewhere = await refusal(api.apps.readNamespacedDeploymentScale({ name: 'recipe-app', namespace: DB }));
    expect(elsewhere.status.message).toContain('cannot get resource "deployments/scale" in API group "apps" in the namespace "recipe-database"');
    // A namespaced grant is no cluster-wide one.
    const all = await refusal(api.core.listPodForAllNamespaces({}));
    expect(all.status.message).toBe(`pods is forbidden: User "${USER}" cannot list resource "pods" in API group "" at the cluster scope`);
  });

  it('never lets a list through a rule restricted by resourceNames', async () => {
    await expect(api.apps.readNamespacedDeployment({ name: 'recipe-database', namespace: DB })).resolves.toBeDefined();
    const list = await refusal(api.apps.listNamespacedDeployment({ namespace: DB }));
    expect(list.status.message).toBe(`deployments.apps is forbidden: User "${USER}" cannot list resource "deployments" in API group "apps" in the namespace "recipe-database"`);
    expect(list.status.details).toEqual({ group: 'apps', kind: 'deployments' });
    // Another deployment in the same namespace is not readable either.
    const other = await refusal(api.apps.readNamespacedDeployment({ name: 'pgbouncer', namespace: DB }));
    expect(other.code).toBe(403);
  });

  it('refuses the cluster-scoped node reads unless the optional ClusterRole is applied', async () => {
    const nodes = await refusal(api.core.listNode({}));
    expect(nodes.status.message).toBe(`nodes is forbidden: User "${USER}" cannot list resource "nodes" in API group "" at the cluster scope`);
    expect((await refusal(api.metrics.getNodeMetrics())).code).toBe(403);
    expect(kube.forbidden.map((r) => r.path)).toEqual(expect.arrayContaining(['/api/v1/nodes', '/apis/metrics.k8s.io/v1beta1/nodes']));

    // Any account may ask what it may do (system:basic-user), and gets the same RBAC's answer.
    const review = { body: { spec: { resourceAttributes: { verb: 'get', resource: 'nodes' } } } };
    expect((await api.config.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview(review)).status?.allowed).toBe(false);

    const granted = await startFakeKube({ extraRbacFiles: ['deploy/optional/node-read.yaml'] });
    try {
      expect((await clientsFor(granted).config.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview(review)).status?.allowed).toBe(true);
      granted.setNodes([{ name: 'node-a', cpu: '1', memory: '2Gi', allocatableCpu: '4', allocatableMemory: '16Gi' }]);
      const withGrant = clientsFor(granted);
      expect((await withGrant.core.listNode({})).items.map((n) => n.metadata?.name)).toEqual(['node-a']);
      expect((await withGrant.metrics.getNodeMetrics()).items).toHaveLength(1);
      // status reads the database pod's node by name for its pressure conditions.
      const node = await withGrant.core.readNode({ name: 'node-a' });
      expect(node.status?.conditions?.find((c) => c.type === 'MemoryPressure')?.status).toBe('False');
      // Reading nodes is all it adds: changing one stays refused.
      const cordon = await refusal(withGrant.core.patchNode({ name: 'node-a', body: { spec: { unschedulable: true } } }, mergePatch));
      expect(cordon.code).toBe(403);
      expect(granted.forbidden.map((r) => r.path)).toEqual(['/api/v1/nodes/node-a']);
    } finally {
      await granted.close();
    }
  });

  it('allows the triage reads and the approved changes of the database, on its named objects only', async () => {
    const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
    kube.addService({ namespace: DB, name: 'recipe-database-service', selector: { app: 'recipe-database' }, ports: [{ port: 5432 }] });
    kube.addService({ namespace: DB, name: 'pgbouncer', selector: { app: 'pgbouncer' }, ports: [{ port: 6432 }] });
    kube.addStorageClass({ name: 'standard', allowVolumeExpansion: true });
    kube.addVolumeClaim({ namespace: DB, name: 'recipe-database-pvc', storageClassName: 'standard', size: '10Gi' });
    kube.addVolumeClaim({ namespace: DB, name: 'scratch', storageClassName: 'standard', size: '1Gi' });
    const before = kube.forbidden.length;

    await api.core.listNamespacedEvent({ namespace: DB, fieldSelector: 'type=Warning' });
    const slices = await api.discovery.listNamespacedEndpointSlice({ namespace: DB, labelSelector: 'kubernetes.io/service-name=recipe-database-service' });
    expect(slices.items.map((x) => x.endpoints?.length)).toEqual([1]);
    await api.core.readNamespacedPersistentVolumeClaim({ name: 'recipe-database-pvc', namespace: DB });
    await api.core.patchNamespacedPersistentVolumeClaim(
      { name: 'recipe-database-pvc', namespace: DB, body: { spec: { resources: { requests: { storage: '20Gi' } } } } },
      strategic,
    );
    const storage = api.config.makeApiClient(StorageV1Api);
    expect((await storage.readStorageClass({ name: 'standard' })).allowVolumeExpansion).toBe(true);
    await api.apps.patchNamespacedDeployment(
      { name: 'recipe-database', namespace: DB, body: { spec: { template: { spec: { containers: [{ name: 'recipe-database', image: 'postgres:15.8' }] } } } } },
      strategic,
    );
    expect(kube.forbidden.slice(before)).toEqual([]);

    const refused = [
      await refusal(api.core.readNamespacedEndpoints({ name: 'recipe-database-service', namespace: DB })),
      await refusal(api.discovery.listNamespacedEndpointSlice({ namespace: APP })),
      await refusal(api.core.readNamespacedPersistentVolumeClaim({ name: 'scratch', namespace: DB })),
      await refusal(api.core.listNamespacedPersistentVolumeClaim({ namespace: DB })),
      await refusal(api.core.deleteNamespacedPersistentVolumeClaim({ name: 'recipe-database-pvc', namespace: DB })),
      await refusal(storage.listStorageClass({})),
      await refusal(api.core.listNamespacedEvent({ namespace: APP })),
      await refusal(api.apps.deleteNamespacedDeployment({ name: 'recipe-database', namespace: DB })),
    ];
    expect(refused.map((r) => r.code)).toEqual([403, 403, 403, 403, 403, 403, 403, 403]);
    expect(refused[5]?.status.message).toBe(
      `storageclasses.storage.k8s.io is forbidden: User "${USER}" cannot list resource "storageclasses" in API group "storage.k8s.io" at the cluster scope`,
    );
  });

  it('allows everything with rbac: none (for tests of the fake itself)', async () => {
    const open = await startFakeKube({ rbac: 'none' });
    try {
      open.addDeployment({ namespace: 'recipes', name: 'worker', replicas: 1 });
      const client = clientsFor(open);
      expect((await client.core.listNamespacedPod({ namespace: 'recipes' })).items).toHaveLength(1);
      expect((await refusal(client.core.readNamespacedSecret({ name: 'x', namespace: 'recipes' }))).code).toBe(404);
      expect(open.forbidden).toEqual([]);
    } finally {
      await open.close();
    }
  });
});

type Rules = { apiGroups: string[]; resources: string[]; verbs: string[] }[];

describe('the RBAC rules', () => {
  const rbacObjects = (rules: Rules, binding: { kind: 'RoleBinding' | 'ClusterRoleBinding'; roleKind: 'Role' | 'ClusterRole' }): Manifest[] => {
    const namespace = binding.kind === 'RoleBinding' ? { namespace: 'team' } : {};
    return [
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: binding.roleKind, metadata: { name: 'r', ...(binding.roleKind === 'Role' ? { namespace: 'team' } : {}) }, rules },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: binding.kind,
        metadata: { name: 'b', ...namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: binding.roleKind, name: 'r' },
        subjects: [{ kind: 'ServiceAccount', name: 'recipedb-ops', namespace: 'recipedb-ops' }],
      },
    ];
  };

  it('a ClusterRole bound by a RoleBinding grants only in that namespace', () => {
    const rbac = rbacFrom(rbacObjects([{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }], { kind: 'RoleBinding', roleKind: 'ClusterRole' }));
    expect(rbac.authorize({ verb: 'get', apiGroup: '', resource: 'configmaps', namespace: 'team', name: 'x' })).toBe(true);
    expect(rbac.authorize({ verb: 'get', apiGroup: '', resource: 'configmaps', namespace: 'other', name: 'x' })).toBe(false);
    expect(rbac.authorize({ verb: 'get', apiGroup: '', resource: 'configmaps', name: 'x' })).toBe(false);
  });

  it('matches subresources only by name or by a */subresource wildcard, and wildcards as Kubernetes does', () => {
    const rbac = rbacFrom(
      rbacObjects(
        [
          { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
          { apiGroups: ['apps'], resources: ['*/scale'], verbs: ['*'] },
        ],
        { kind: 'ClusterRoleBinding', roleKind: 'ClusterRole' },
      ),
    );
    expect(rbac.authorize({ verb: 'get', apiGroup: '', resource: 'pods', namespace: 'a', name: 'p' })).toBe(true);
    expect(rbac.authorize({ verb: 'get', apiGroup: '', resource: 'pods', subresource: 'log', namespace: 'a', name: 'p' })).toBe(false);
    expect(rbac.authorize({ verb: 'update', apiGroup: 'apps', resource: 'statefulsets', subresource: 'scale', namespace: 'a', name: 's' })).toBe(true);
    expect(rbac.authorize({ verb: 'update', apiGroup: 'apps', resource: 'statefulsets', namespace: 'a', name: 's' })).toBe(false);
  });

  it('a binding for another account grants this one nothing', () => {
    const objects = rbacObjects([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }], { kind: 'ClusterRoleBinding', roleKind: 'ClusterRole' });
    const rbac = rbacFrom(objects, { namespace: 'recipedb-ops', name: 'someone-else' });
    expect(rbac.authorize({ verb: 'get', apiGroup: '', resource: 'pods', namespace: 'a', name: 'p' })).toBe(false);
  });

  it('reads the verb, group, resource and name from the request as the API server does', () => {
    expect(requestAttributes('GET', '/api/v1/namespaces/db/pods', {})).toEqual({ kind: 'resource', verb: 'list', apiGroup: '', resource: 'pods', namespace: 'db' });
    expect(requestAttributes('GET', '/api/v1/namespaces/db/pods', { watch: 'true' })).toMatchObject({ verb: 'watch' });
    expect(requestAttributes('GET', '/api/v1/namespaces/db/pods/p1/log', {})).toEqual({
      kind: 'resource',
      verb: 'get',
      apiGroup: '',
      resource: 'pods',
      subresource: 'log',
      namespace: 'db',
      name: 'p1',
    });
    expect(requestAttributes('PUT', '/apis/apps/v1/namespaces/default/deployments/app/scale', {})).toMatchObject({ verb: 'update', apiGroup: 'apps', subresource: 'scale' });
    expect(requestAttributes('DELETE', '/api/v1/namespaces/db/pods', {})).toMatchObject({ verb: 'deletecollection' });
    expect(requestAttributes('GET', '/apis/metrics.k8s.io/v1beta1/nodes', {})).toEqual({ kind: 'resource', verb: 'list', apiGroup: 'metrics.k8s.io', resource: 'nodes' });
    expect(requestAttributes('GET', '/api/v1/namespaces/db', {})).toMatchObject({ resource: 'namespaces', name: 'db', namespace: 'db' });
    expect(requestAttributes('GET', '/apis/apps/v1', {})).toEqual({ kind: 'nonResource', verb: 'get', path: '/apis/apps/v1' });
    expect(requestAttributes('GET', '/version', {})).toEqual({ kind: 'nonResource', verb: 'get', path: '/version' });
  });
});
