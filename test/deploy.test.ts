/**
 * deploy/ read as `kubectl apply -k deploy/` reads it, and checked against the bot it deploys: the
 * probes hit the bot's real endpoints on the port it serves, the configuration loads, the backup
 * volume holds BACKUP_DIR, the Roles grant what the configuration points at and nothing dangerous,
 * and the alerts name metrics the bot registers.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { parseDuration } from '../src/duration.js';
import { SHUTDOWN_CLEANUP_MS } from '../src/lifecycle.js';
import { createMetrics } from '../src/metrics.js';
import { httpRoutes, serveRoutes } from '../src/bot/http-routes.js';
import { loadDeployRbac, type ResourceAttributes } from './support/fake-kube-rbac.js';
import { DEPLOY_DIR, REPO_ROOT, kustomizationFiles, readKustomization, readManifestFile, readYamlDocuments, type Manifest } from './support/manifests.js';
import { openTestServices, type TestServices } from './support/services.js';
import { EXPORTER_0_11_METRICS } from './support/exporter.js';
import { pitrRestoreEnv } from '../src/ops/pitr/data-directory.js';
import { PITR_INIT_CONTAINER, pitrRestoreConfigMap } from '../src/ops/pitr/kube-data-directory.js';

// The shapes read here, loosely: a missing field fails the assertion that reads it.
interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface Container {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  volumeMounts?: { name: string; mountPath: string }[];
  lifecycle?: { preStop?: { exec?: { command?: string[] } } };
}
interface PodSpec {
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  containers: Container[];
  volumes?: { name: string; persistentVolumeClaim?: { claimName: string }; emptyDir?: object }[];
}
interface DeploymentSpec {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
}
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const objects = readKustomization(DEPLOY_DIR);

function only(kind: string, from: Manifest[] = objects): Manifest {
  const [found, ...more] = from.filter((o) => o.kind === kind);
  if (found === undefined || more.length > 0) throw new Error(`expected one ${kind}, found ${more.length + (found ? 1 : 0)}`);
  return found;
}

const deployment = only('Deployment');
const spec = deployment.spec as DeploymentSpec;
const pod = spec.template.spec;
const container = pod.containers[0] as Container;
const configData = only('ConfigMap').data as Record<string, string>;
const [secretTemplate] = readManifestFile('deploy/secret.example.yaml');
const secretData = (secretTemplate?.stringData ?? {}) as Record<string, string>;
/** The configuration the bot starts with in the cluster: the ConfigMap and the filled-in Secret. */
const config = loadConfig({ ...configData, ...secretData });

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(dir, f));
}

/** The containerPort a probe's or Service's port (a name or a number) points at. */
function containerPort(port: string | number | undefined): number | undefined {
  return typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

describe('deploy/ as files', () => {
  it('parses every YAML file, each document a Kubernetes object or a rules file', () => {
    const files = yamlFilesUnder(DEPLOY_DIR);
    expect(files.length).toBeGreaterThanOrEqual(12);
    for (const file of files) {
      const documents = readYamlDocuments(file);
      expect(documents.length, file).toBeGreaterThan(0);
      for (const document of documents) {
        const object = document as Manifest & { groups?: unknown };
        expect(typeof object.kind === 'string' || Array.isArray(object.groups), file).toBe(true);
      }
    }
  });

  it('kustomization.yaml lists files that exist, and leaves out the template, the optional grant and the CRD-bound alerts', () => {
    const files = kustomizationFiles(DEPLOY_DIR);
    for (const file of files) expect(existsSync(file), file).toBe(true);
    const listed = files.map((f) => path.relative(DEPLOY_DIR, f));
    expect(listed).not.toContain('secret.example.yaml');
    expect(listed).not.toContain('alerts.yaml');
    expect(listed.some((f) => f.startsWith('optional'))).toBe(false);
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Namespace', 'NetworkPolicy', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'Role', 'Role',
        'RoleBinding', 'RoleBinding', 'Service', 'ServiceAccount',
      ].sort(),
    );
  });

  it('puts every namespaced object of the bot in its namespace', () => {
    const namespace = only('Namespace').metadata?.name;
    for (const object of objects.filter((o) => !['Namespace', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind))) {
      expect(object.metadata?.namespace, `${object.kind} ${object.metadata?.name}`).toBe(namespace);
    }
    expect(secretTemplate?.metadata?.namespace).toBe(namespace);
  });
});

describe('the Secret template', () => {
  it('connects to the operated database as the least-privilege role README creates, never postgres', () => {
    const url = new URL(secretData.DATABASE_URL ?? '');
    expect(url.username).toBe('recipedb_ops');
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('CREATE ROLE recipedb_ops LOGIN');
    expect(readme).toContain('GRANT pg_monitor, pg_signal_backend TO recipedb_ops');
    expect(readme).not.toMatch(/CREATE ROLE recipedb_ops[^;]*SUPERUSER/);
  });
});

interface PolicyPeer {
  namespaceSelector?: { matchLabels?: Record<string, string> };
  podSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string; except?: string[] };
}
interface PolicyRule {
  to?: PolicyPeer[];
  from?: PolicyPeer[];
  ports?: { port: number | string; protocol?: string }[];
}

describe('the NetworkPolicy', () => {
  const policy = only('NetworkPolicy');
  const policySpec = policy.spec as { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: PolicyRule[]; egress: PolicyRule[] };
  const ports = (rule: PolicyRule): string[] => (rule.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.port}`).sort();
  const namespaceOf = (peer: PolicyPeer): string | undefined => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'];

  it("selects the bot's pods and isolates them both ways", () => {
    expect(policySpec.podSelector.matchLabels).toEqual(spec.template.metadata.labels);
    expect(policySpec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
  });

  it("lets in only the monitoring namespace (metrics, Alertmanager's webhook), to the http port", () => {
    expect(policySpec.ingress).toHaveLength(1);
    const [rule] = policySpec.ingress as [PolicyRule];
    expect((rule.from ?? []).map(namespaceOf)).toEqual(['monitoring']);
    expect(ports(rule)).toEqual(['TCP/http']);
    expect(container.ports?.find((p) => p.name === 'http')?.containerPort).toBe(config.port);
    expect(spec.template.metadata.annotations?.['prometheus.io/port']).toBe(String(config.port));
  });

  it("lets out only DNS, the databases, Alertmanager's API, the Kubernetes API and HTTPS to the internet", () => {
    // Every rule names where and which ports: no rule without `to` or `ports`, which would allow all.
    for (const rule of policySpec.egress) {
      expect(rule.to?.length, JSON.stringify(rule)).toBeGreaterThan(0);
      expect(rule.ports?.length, JSON.stringify(rule)).toBeGreaterThan(0);
    }
    const byPorts = new Map(policySpec.egress.map((rule) => [ports(rule).join(','), rule]));
    expect([...byPorts.keys()].sort()).toEqual(['TCP/443', 'TCP/443,TCP/6443', 'TCP/5432', 'TCP/5432,TCP/9187', 'TCP/53,UDP/53', 'TCP/8432', 'TCP/9093'].sort());

    const dns = byPorts.get('TCP/53,UDP/53')?.to?.[0];
    expect(dns).toMatchObject({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } });
    // The operated database's namespace is the configuration's, and its Service answers on 5432.
    expect(byPorts.get('TCP/5432,TCP/9187')?.to?.map(namespaceOf)).toEqual([config.database.namespace]);
    expect(new URL(config.databaseUrl ?? '').hostname).toContain(`.${config.database.namespace}.svc`);
    expect(new URL(config.databaseUrl ?? '').port).toBe('5432');
    expect(byPorts.get('TCP/5432')?.to?.map(namespaceOf)).toEqual([policy.metadata?.namespace]);
    expect(new URL(config.stateDatabaseUrl ?? '').hostname).toContain(`.${policy.metadata?.namespace}.svc`);
    // Alertmanager (ALERTMANAGER_URL) in the monitoring namespace, on its API port.
    expect(byPorts.get('TCP/9093')?.to?.map(namespaceOf)).toEqual(['monitoring']);
    // The API server by address; Slack as HTTPS anywhere but the private ranges.
    expect(byPorts.get('TCP/443,TCP/6443')?.to?.[0]?.ipBlock?.cidr).toMatch(/^\d+\.\d+\.\d+\.\d+\/32$/);
    const internet = byPorts.get('TCP/443')?.to?.[0]?.ipBlock;
    expect(internet?.cidr).toBe('0.0.0.0/0');
    expect(internet?.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']));
  });
});

describe('the Deployment', () => {
  it('runs two replicas of the released image as the ServiceAccount', () => {
    expect(spec.replicas).toBe(2);
    const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(container.image).toBe(`ghcr.io/recipedb/recipedb-ops:${version}`);
    const account = only('ServiceAccount');
    expect(pod.serviceAccountName).toBe(account.metadata?.name);
    expect(account.metadata?.namespace).toBe(deployment.metadata?.namespace);
    expect(account.automountServiceAccountToken).toBe(true);
  });

  it('loads the ConfigMap and the Secret, and the configuration they make starts the bot in Socket Mode', () => {
    const sources = container.envFrom ?? [];
    expect(sources.map((s) => s.configMapRef?.name).filter(Boolean)).toEqual([only('ConfigMap').metadata?.name]);
    expect(sources.map((s) => s.secretRef?.name).filter(Boolean)).toEqual([secretTemplate?.metadata?.name]);
    expect(Object.keys(secretData).sort()).toEqual(['DATABASE_URL', 'PLAN_HMAC_KEY', 'SLACK_APP_TOKEN', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'STATE_DATABASE_URL']);
    // Nothing secret in the ConfigMap.
    expect(Object.keys(configData).filter((key) => /TOKEN|SECRET|PASSWORD|DATABASE_URL|KEY/.test(key))).toEqual([]);
    expect(config.mode).toBe('slack-socket');
  });

  it('probes /healthz and /readyz on the port the bot serves, and Prometheus scrapes /metrics there', () => {
    expect(container.startupProbe?.httpGet?.path).toBe('/healthz');
    expect(containerPort(container.startupProbe?.httpGet?.port)).toBe(config.port);
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    // PORT from the ConfigMap, or src/config.ts's default when it is left out.
    expect(containerPort(container.livenessProbe?.httpGet?.port)).toBe(config.port);
    expect(containerPort(container.readinessProbe?.httpGet?.port)).toBe(config.port);
    expect(loadConfig({ ...secretData }).port).toBe(3000);
    const annotations = spec.template.metadata.annotations ?? {};
    expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/metrics' });
    expect(Number(annotations['prometheus.io/port'])).toBe(config.port);
  });

  it('runs as a non-root user on a read-only root filesystem with no capabilities', () => {
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);
    expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(container.securityContext?.capabilities?.drop).toContain('ALL');
    expect(container.securityContext?.capabilities?.add ?? []).toEqual([]);
    // pg_dump, psql and Node need a writable /tmp on the read-only root.
    const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
  });

  it('requests CPU and memory and limits memory', () => {
    expect(container.resources?.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources?.limits?.memory).toEqual(expect.any(String));
  });

  it('mounts the shared backup volume where BACKUP_DIR is', () => {
    const claim = only('PersistentVolumeClaim');
    const volume = pod.volumes?.find((v) => v.persistentVolumeClaim?.claimName === claim.metadata?.name);
    const mount = container.volumeMounts?.find((m) => m.name === volume?.name);
    expect(mount).toBeDefined();
    const relative = path.posix.relative(mount?.mountPath ?? '/nowhere', config.backup.dir);
    expect(relative.startsWith('..') || path.posix.isAbsolute(relative), `${config.backup.dir} is under ${mount?.mountPath}`).toBe(false);
    // Both replicas write and read the same backups.
    expect((claim.spec as { accessModes: string[] }).accessModes).toEqual(['ReadWriteMany']);
  });

  it('gives the bot longer to stop than the preStop wait, the drain and the clean-up after it', () => {
    const graceMs = parseDuration(configData.SHUTDOWN_GRACE ?? '');
    expect(graceMs).toBeGreaterThan(0);
    const preStop = container.lifecycle?.preStop?.exec?.command ?? [];
    expect(preStop[0]).toBe('sleep');
    const preStopMs = Number(preStop[1]) * 1000;
    expect(preStopMs).toBeGreaterThan(0);
    expect((pod.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(preStopMs + (graceMs ?? Infinity) + SHUTDOWN_CLEANUP_MS);
  });

  it('is selected by the PodDisruptionBudget and the Service, which reach the bot\'s port', () => {
    const labels = spec.template.metadata.labels;
    expect(selects(spec.selector.matchLabels, labels)).toBe(true);
    const budget = only('PodDisruptionBudget').spec as { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    expect(selects(budget.selector.matchLabels, labels)).toBe(true);
    expect(budget.minAvailable).toBeGreaterThanOrEqual(1);
    expect(budget.minAvailable).toBeLessThan(spec.replicas);
    const service = only('Service').spec as { selector: Record<string, string>; ports: { targetPort: string | number }[] };
    expect(selects(service.selector, labels)).toBe(true);
    expect(containerPort(service.ports[0]?.targetPort)).toBe(config.port);
  });
});

describe('the probe paths are the bot\'s real endpoints', () => {
  let services: TestServices;
  let server: { port: number; close(): Promise<void> };

  beforeAll(async () => {
    services = await openTestServices();
    server = await serveRoutes(httpRoutes(services.state, services.metrics, services.lifecycle), 0);
  });
  afterAll(async () => {
    await server?.close();
    await services?.close();
  });

  it('answers the liveness, readiness and scrape paths with 200', async () => {
    const paths = [container.livenessProbe?.httpGet?.path, container.readinessProbe?.httpGet?.path, spec.template.metadata.annotations?.['prometheus.io/path']];
    for (const probe of paths) {
      const response = await fetch(`http://127.0.0.1:${server.port}${probe ?? '/missing'}`);
      expect(response.status, probe).toBe(200);
    }
  });
});

describe('the RBAC', () => {
  const allRoles = yamlFilesUnder(DEPLOY_DIR)
    .flatMap((file) => readYamlDocuments(file) as Manifest[])
    .filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');

  it('grants no exec, attach, port-forward, escalation or wildcards, in any file; Secrets only by name, or create', () => {
    expect(allRoles.length).toBeGreaterThanOrEqual(3);
    for (const role of allRoles) {
      for (const rule of (role.rules ?? []) as Rule[]) {
        const where = `${role.kind} ${role.metadata?.name}`;
        for (const list of [rule.verbs, rule.resources ?? [], rule.apiGroups ?? []]) expect(list.filter((x) => x.includes('*')), where).toEqual([]);
        expect(rule.resources ?? [], where).not.toEqual(expect.arrayContaining([expect.stringMatching(/^(pods\/(exec|attach|portforward|proxy)|serviceaccounts\/token)$/)]));
        expect(rule.verbs, where).not.toEqual(expect.arrayContaining([expect.stringMatching(/^(escalate|bind|impersonate|delete|deletecollection)$/)]));
        // Secrets: read and change only the named ones; create (which RBAC cannot narrow by name); never list or watch.
        if ((rule.resources ?? []).includes('secrets')) {
          expect(rule.resources, where).toEqual(['secrets']);
          if ((rule.resourceNames ?? []).length > 0) expect(rule.verbs.filter((v) => v !== 'get' && v !== 'patch'), where).toEqual([]);
          else expect(rule.verbs, where).toEqual(['create']);
        }
        if (rule.verbs.includes('create')) expect(rule.resources, where).toEqual(['secrets']);
      }
    }
  });

  it('installs one cluster-wide grant, reading storage classes; reading nodes stays optional', () => {
    const clusterRoles = objects.filter((o) => o.kind === 'ClusterRole');
    expect(clusterRoles.map((r) => r.rules)).toEqual([[{ apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get'] }]]);
    const bindings = objects.filter((o) => o.kind === 'ClusterRoleBinding');
    expect(bindings.map((b) => (b.roleRef as { name: string }).name)).toEqual([clusterRoles[0]?.metadata?.name]);
  });

  it('puts the Roles exactly in the database\'s and the application\'s namespaces of the ConfigMap', () => {
    const scalableNamespaces = config.scalableDeployments.map((d) => d.split('/')[0] ?? '');
    const expected = new Set([config.database.namespace, config.app.namespace, ...scalableNamespaces]);
    expect(new Set(objects.filter((o) => o.kind === 'Role').map((o) => o.metadata?.namespace))).toEqual(expected);
    expect(configData.RECIPEDB_NAMESPACE).toBe(config.database.namespace);
    expect(configData.APP_NAMESPACE).toBe(config.app.namespace);
  });

  it('grants every call the configuration points the bot at', () => {
    const rbac = loadDeployRbac();
    const { namespace, deployment: database } = config.database;
    const needed: ResourceAttributes[] = [
      { verb: 'get', apiGroup: 'apps', resource: 'deployments', namespace, name: database },
      { verb: 'list', apiGroup: '', resource: 'pods', namespace },
      { verb: 'get', apiGroup: '', resource: 'pods', subresource: 'log', namespace, name: `${database}-7d9f8b-x2k4q` },
      { verb: 'list', apiGroup: 'metrics.k8s.io', resource: 'pods', namespace },
      // resize and image patch the database deployment; events and status read the warnings and the Service's endpoints.
      { verb: 'patch', apiGroup: 'apps', resource: 'deployments', namespace, name: database },
      { verb: 'list', apiGroup: '', resource: 'events', namespace },
      { verb: 'list', apiGroup: 'discovery.k8s.io', resource: 'endpointslices', namespace },
      // storage, storage expand and growth: the one claim, and its class.
      { verb: 'get', apiGroup: '', resource: 'persistentvolumeclaims', namespace, name: config.database.pvc },
      { verb: 'patch', apiGroup: '', resource: 'persistentvolumeclaims', namespace, name: config.database.pvc },
      { verb: 'get', apiGroup: 'storage.k8s.io', resource: 'storageclasses', name: 'standard' },
    ];
    // user rotate-password: the Secrets of MANAGED_USERS, by name; user create: a new Secret next to the database.
    for (const user of config.managedUsers) {
      needed.push(
        { verb: 'get', apiGroup: '', resource: 'secrets', namespace: user.namespace, name: user.secret },
        { verb: 'patch', apiGroup: '', resource: 'secrets', namespace: user.namespace, name: user.secret },
        { verb: 'list', apiGroup: '', resource: 'pods', namespace: user.namespace },
      );
    }
    needed.push({ verb: 'create', apiGroup: '', resource: 'secrets', namespace });
    // A rotation restarts APP_DEPLOYMENT.
    needed.push({ verb: 'patch', apiGroup: 'apps', resource: 'deployments', namespace: config.app.namespace, name: config.app.deployment });
    // The restore's application and every deployment `scale` may touch.
    for (const entry of [`${config.app.namespace}/${config.app.deployment}`, ...config.scalableDeployments]) {
      const [ns = '', name = ''] = entry.split('/');
      needed.push(
        { verb: 'get', apiGroup: 'apps', resource: 'deployments', subresource: 'scale', namespace: ns, name },
        { verb: 'patch', apiGroup: 'apps', resource: 'deployments', subresource: 'scale', namespace: ns, name },
        { verb: 'get', apiGroup: 'apps', resource: 'deployments', namespace: ns, name },
      );
    }
    for (const request of needed) expect(rbac.authorize(request), JSON.stringify(request)).toBe(true);
  });

  it('refuses what no command needs', () => {
    const rbac = loadDeployRbac();
    const { namespace, deployment: database } = config.database;
    const app = { namespace: config.app.namespace, name: config.app.deployment };
    const refused: ResourceAttributes[] = [
      { verb: 'get', apiGroup: '', resource: 'pods', namespace, name: `${database}-0` },
      { verb: 'delete', apiGroup: '', resource: 'pods', namespace, name: `${database}-0` },
      { verb: 'create', apiGroup: '', resource: 'pods', subresource: 'exec', namespace, name: `${database}-0` },
      { verb: 'get', apiGroup: '', resource: 'secrets', namespace, name: 'postgres' },
      { verb: 'patch', apiGroup: '', resource: 'secrets', namespace, name: 'postgres' },
      { verb: 'list', apiGroup: '', resource: 'secrets', namespace },
      { verb: 'watch', apiGroup: '', resource: 'secrets', namespace },
      { verb: 'delete', apiGroup: '', resource: 'secrets', namespace, name: 'recipe-database-secret' },
      { verb: 'update', apiGroup: '', resource: 'secrets', namespace, name: 'recipe-database-secret' },
      { verb: 'create', apiGroup: '', resource: 'secrets', namespace: app.namespace },
      { verb: 'list', apiGroup: '', resource: 'configmaps', namespace },
      { verb: 'list', apiGroup: 'apps', resource: 'deployments', namespace },
      { verb: 'patch', apiGroup: 'apps', resource: 'deployments', subresource: 'scale', namespace, name: database },
      { verb: 'update', apiGroup: 'apps', resource: 'deployments', ...app },
      { verb: 'update', apiGroup: 'apps', resource: 'deployments', subresource: 'scale', ...app },
      { verb: 'list', apiGroup: '', resource: 'pods', namespace: app.namespace },
      { verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'recipedb-ops', name: 'recipedb-ops' },
      { verb: 'list', apiGroup: '', resource: 'nodes' },
      { verb: 'list', apiGroup: 'metrics.k8s.io', resource: 'nodes' },
      { verb: 'get', apiGroup: '', resource: 'nodes', name: 'node-1' },
      // Only the database's own deployment, claim and Service; never a delete or a list of claims.
      { verb: 'patch', apiGroup: 'apps', resource: 'deployments', namespace, name: 'pgbouncer' },
      { verb: 'update', apiGroup: 'apps', resource: 'deployments', namespace, name: database },
      { verb: 'patch', apiGroup: 'apps', resource: 'deployments', subresource: 'status', namespace, name: database },
      { verb: 'list', apiGroup: '', resource: 'persistentvolumeclaims', namespace },
      { verb: 'get', apiGroup: '', resource: 'persistentvolumeclaims', namespace, name: 'other-pvc' },
      { verb: 'delete', apiGroup: '', resource: 'persistentvolumeclaims', namespace, name: config.database.pvc },
      { verb: 'patch', apiGroup: '', resource: 'persistentvolumeclaims', subresource: 'status', namespace, name: config.database.pvc },
      { verb: 'get', apiGroup: '', resource: 'endpoints', namespace, name: config.database.service },
      { verb: 'list', apiGroup: 'discovery.k8s.io', resource: 'endpointslices', namespace: app.namespace },
      { verb: 'list', apiGroup: '', resource: 'events', namespace: app.namespace },
      { verb: 'list', apiGroup: 'storage.k8s.io', resource: 'storageclasses' },
      { verb: 'patch', apiGroup: 'storage.k8s.io', resource: 'storageclasses', name: 'standard' },
      { verb: 'get', apiGroup: '', resource: 'persistentvolumes', name: 'pvc-1234' },
    ];
    for (const request of refused) expect(rbac.authorize(request), JSON.stringify(request)).toBe(false);
  });
});

describe('the alert rules', () => {
  const prometheusRule = only('PrometheusRule', readManifestFile('deploy/alerts.yaml'));
  const [plainRules] = readYamlDocuments('deploy/prometheus-rules.yml') as { groups: { name: string; rules: AlertRule[] }[] }[];
  const rules = (plainRules?.groups ?? []).flatMap((g) => g.rules);

  it('are the same in the PrometheusRule and the plain rules file', () => {
    expect(prometheusRule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(prometheusRule.spec).toEqual(plainRules);
  });

  it('name only metrics that src/metrics.ts registers (and Prometheus\'s own up)', async () => {
    const registered = new Set<string>();
    // With every optional source, so that every metric the bot can have is registered.
    const metrics = createMetrics({ newestBackup: async () => null });
    for (const { name, type } of await metrics.registry.getMetricsAsJSON()) {
      registered.add(name);
      if (String(type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) registered.add(`${name}${suffix}`);
    }
    const named = new Set(rules.flatMap((r) => [...r.expr.matchAll(/\brecipedb_ops_[a-z0-9_]+/g)].map((m) => m[0])));
    expect(named.size).toBeGreaterThanOrEqual(5);
    for (const name of named) expect(registered.has(name), `${name} is not registered by createMetrics()`).toBe(true);
    expect(rules.filter((r) => !/\brecipedb_ops_|\bup\{|\bpg_/.test(r.expr))).toEqual([]);
  });

  it('name only postgres_exporter 0.11 metrics that exist (checked against the real exporter in prometheus-rules.test.ts)', () => {
    const known = new Set<string>(EXPORTER_0_11_METRICS);
    const named = new Set(rules.flatMap((r) => [...r.expr.matchAll(/\bpg_[a-z0-9_]+/g)].map((m) => m[0])));
    expect(named.size).toBeGreaterThanOrEqual(8);
    for (const name of named) expect(known.has(name), `${name} is not a metric postgres_exporter 0.11 exports`).toBe(true);
  });

  it('carry what the bot\'s buttons read: a runbook link, and a kill threshold where the Kill… button applies', () => {
    const database = (plainRules?.groups ?? []).find((g) => g.name === 'recipe-database')?.rules ?? [];
    expect(database.map((r) => r.alert).sort()).toEqual([
      'RecipeDatabaseDeadlocks', 'RecipeDatabaseDown', 'RecipeDatabaseExporterMissing', 'RecipeDatabaseGrowthHigh', 'RecipeDatabaseLongTransaction',
      'RecipeDatabaseLowCacheHitRatio', 'RecipeDatabaseTooManyConnections', 'RecipeDatabaseWalArchivingFailing',
    ]);
    for (const rule of database) expect(rule.annotations?.runbook_url, rule.alert).toMatch(/^https:\/\/.+#recipedatabase[a-z]+$/);
    const killing = rules.filter((r) => r.labels?.runbook_action === 'kill');
    expect(killing.map((r) => r.alert)).toEqual(['RecipeDatabaseLongTransaction']);
    for (const rule of killing) expect(parseDuration(rule.annotations?.kill_older_than ?? '')).toBe(10 * 60_000);
  });

  it('warn of no successful backup for 26 hours, a bot that is down, and failures', () => {
    const byName = new Map(rules.map((r) => [r.alert, r]));
    expect(byName.get('RecipeDatabaseBackupMissing')?.expr).toContain('recipedb_ops_backup_last_success_timestamp_seconds > 0) > 26 * 3600');
    // 0 is "no backup at all" (a fresh install): its own alert, after as long.
    expect(byName.get('RecipeDatabaseNoBackups')?.expr).toContain('max(recipedb_ops_backup_last_success_timestamp_seconds) == 0');
    expect(byName.get('RecipeDatabaseNoBackups')?.for).toBe('26h');
    expect(byName.get('RecipedbOpsDown')?.for).toBe('5m');
    expect(byName.get('RecipeDatabaseBackupFailed')?.expr).toContain('recipedb_ops_backup_failures_total');
    expect(byName.get('RecipedbOpsCommandsFailing')?.expr).toContain('outcome="failed"');
    for (const rule of rules) {
      expect(rule.labels?.severity, rule.alert).toMatch(/^(critical|warning)$/);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      if (rule.for !== undefined) expect(parseDuration(rule.for), rule.alert).toBeGreaterThan(0);
    }
  });
});

describe('deploy/database/: the database with pgBackRest, as point-in-time recovery drives it', () => {
  interface EnvVar {
    name: string;
    value?: string;
    valueFrom?: { configMapKeyRef?: { name: string; key: string; optional?: boolean }; secretKeyRef?: { name: string; key: string } };
  }
  type DbContainer = Container & { args?: string[]; command?: string[]; env?: EnvVar[] };
  const databaseDir = path.join(DEPLOY_DIR, 'database');
  const database = readKustomization(databaseDir);
  const named = (kind: string, name: string): Manifest => {
    const found = database.find((o) => o.kind === kind && o.metadata?.name === name);
    if (!found) throw new Error(`deploy/database/ has no ${kind} ${name}`);
    return found;
  };
  const deploymentSpec = named('Deployment', 'recipe-database').spec as DeploymentSpec & { strategy?: { type: string }; template: { spec: PodSpec & { initContainers?: DbContainer[] } } };
  const podSpec = deploymentSpec.template.spec;
  const containers = podSpec.containers as DbContainer[];
  const [init] = podSpec.initContainers ?? [];
  const postgresContainer = containers.find((c) => c.name === 'recipe-database') as DbContainer;
  const server = containers.find((c) => c.name === 'pgbackrest') as DbContainer;
  const ini = (text: string): Record<string, Record<string, string>> => {
    const sections: Record<string, Record<string, string>> = {};
    let current = '';
    for (const line of text.split('\n').map((l) => l.trim())) {
      const section = /^\[(.+)\]$/.exec(line);
      if (section) sections[(current = section[1] as string)] = {};
      else if (line && !line.startsWith('#')) sections[current] = { ...sections[current], [line.slice(0, line.indexOf('='))]: line.slice(line.indexOf('=') + 1) };
    }
    return sections;
  };
  const serverConf = ini((named('ConfigMap', 'recipe-database-pgbackrest').data as Record<string, string>)['pgbackrest.conf'] ?? '');
  const botConfMap = named('ConfigMap', 'recipedb-ops-pgbackrest');
  const botConf = ini((botConfMap.data as Record<string, string>)['pgbackrest.conf'] ?? '');
  const envOf = (c: DbContainer | undefined, name: string) => c?.env?.find((e) => e.name === name);
  const stanza = envOf(init, 'PGBACKREST_STANZA')?.value ?? '';
  const pitrConfig = loadConfig({ ...configData, ...secretData, PGBACKREST_STANZA: stanza });
  // RECIPEDB_SERVICE and RECIPEDB_PVC as the bot is configured in the cluster.
  const databaseService = pitrConfig.database.service;
  const databasePvc = pitrConfig.database.pvc;

  it('lists files that exist and leaves out the templates and the image build', () => {
    const listed = kustomizationFiles(databaseDir).map((f) => path.relative(databaseDir, f));
    for (const file of listed) expect(existsSync(path.join(databaseDir, file)), file).toBe(true);
    expect(listed).not.toContain('secret.example.yaml');
    expect(readManifestFile('deploy/database/secret.example.yaml').map((s) => s.kind)).toEqual(['Secret', 'Secret', 'Secret']);
    expect(readFileSync(path.join(databaseDir, 'Dockerfile'), 'utf8')).toMatch(/COPY pitr-restore\.sh \/usr\/local\/bin\/pitr-restore/);
  });

  it('archives every WAL segment with pgBackRest to the stanza the bot is configured with', () => {
    const args = (postgresContainer.args ?? []).join(' ');
    expect(args).toContain('archive_mode=on');
    expect(args).toContain(`archive_command=pgbackrest --stanza=${stanza} archive-push %p`);
    expect(stanza).toBe('recipe-database');
    expect(Object.keys(serverConf)).toEqual(['global', stanza]);
    expect(Object.keys(botConf)).toEqual(['global', stanza]);
    expect(pitrConfig.pitr?.stanza).toBe(stanza);
    // One PGDATA everywhere: the postgres container, the init container, pgBackRest's pg1-path on both sides.
    const pgdata = envOf(postgresContainer, 'PGDATA')?.value;
    expect(envOf(init, 'PGDATA')?.value).toBe(pgdata);
    expect(serverConf[stanza]?.['pg1-path']).toBe(pgdata);
    expect(botConf[stanza]?.['pg1-path']).toBe(pgdata);
    // The repository is the same bucket and path for the database and the bot.
    for (const key of ['repo1-type', 'repo1-s3-bucket', 'repo1-s3-endpoint', 'repo1-path']) expect(botConf.global?.[key], key).toBe(serverConf.global?.[key]);
  });

  it('runs the restore the bot asks for in the init container, reading exactly the ConfigMap the bot writes', () => {
    expect(init?.name).toBe(PITR_INIT_CONTAINER);
    expect(init?.command).toEqual(['/usr/local/bin/pitr-restore']);
    expect(new Set(containers.map((c) => c.image))).toEqual(new Set([init?.image]));
    const requestKeys = Object.keys(pitrRestoreEnv(null));
    const box = named('ConfigMap', pitrRestoreConfigMap(pitrConfig.database.deployment));
    expect(box.metadata?.namespace).toBe(pitrConfig.database.namespace);
    expect(box.data).toEqual(pitrRestoreEnv(null));
    for (const key of requestKeys) {
      expect(envOf(init, key)?.valueFrom?.configMapKeyRef, key).toEqual({ name: box.metadata?.name, key, optional: true });
    }
    // On the data volume, where PostgreSQL has it; one pod at a time on it.
    const dataVolume = podSpec.volumes?.find((v) => v.persistentVolumeClaim?.claimName === databasePvc)?.name;
    expect(dataVolume).toBeDefined();
    const mountOf = (c: DbContainer | undefined) => c?.volumeMounts?.find((m) => m.name === dataVolume)?.mountPath;
    expect(mountOf(init)).toBe(mountOf(postgresContainer));
    expect(deploymentSpec.strategy?.type).toBe('Recreate');
    expect(deploymentSpec.replicas).toBe(1);
    expect(named('Deployment', 'recipe-database').metadata?.name).toBe(pitrConfig.database.deployment);
    expect(postgresContainer.name).toBe(pitrConfig.database.container);
  });

  it('serves the bot\'s backups through pgBackRest\'s TLS server, reachable only with the bot\'s client certificate', () => {
    expect(server.command).toEqual(['pgbackrest', 'server']);
    const port = Number(serverConf.global?.['tls-server-port']);
    expect(server.ports?.find((p) => p.name === 'pgbackrest')?.containerPort).toBe(port);
    expect(serverConf.global?.['tls-server-auth']).toBe(`recipedb-ops=${stanza}`);
    const service = named('Service', databaseService).spec as { ports: { name: string; port: number; targetPort: string }[] };
    expect(service.ports.find((p) => p.targetPort === 'pgbackrest')?.port).toBe(Number(botConf[stanza]?.['pg1-host-port']));
    expect(botConf[stanza]).toMatchObject({ 'pg1-host-type': 'tls', 'pg1-host': `${databaseService}.${pitrConfig.database.namespace}.svc` });
    // The bot mounts its pgBackRest configuration where PGBACKREST_CONFIG points, and its client certificate where the config says.
    expect(botConfMap.metadata?.namespace).toBe(deployment.metadata?.namespace);
    const mountFor = (volumeSource: (v: NonNullable<PodSpec['volumes']>[number] & { configMap?: { name: string }; secret?: { secretName: string } }) => boolean) =>
      container.volumeMounts?.find((m) => m.name === pod.volumes?.find(volumeSource)?.name)?.mountPath;
    expect(mountFor((v) => v.configMap?.name === botConfMap.metadata?.name)).toBe(path.posix.dirname(pitrConfig.pitr?.configFile ?? ''));
    expect(mountFor((v) => v.secret?.secretName === 'recipedb-ops-pgbackrest-tls')).toBe(path.posix.dirname(botConf[stanza]?.['pg1-host-cert-file'] ?? ''));
    const policy = named('NetworkPolicy', 'recipe-database-pgbackrest').spec as { ingress: { ports: { port: number }[]; from?: unknown[] }[] };
    expect(policy.ingress.find((r) => r.ports.some((p) => p.port === port))?.from).toHaveLength(1);
    // And the bot's own NetworkPolicy lets it out to that port of the database's pods (NetworkPolicy sees the pod's port, not the Service's).
    const botEgress = (only('NetworkPolicy').spec as { egress: PolicyRule[] }).egress;
    const toServer = botEgress.find((r) => r.ports?.some((p) => p.port === port));
    expect(toServer?.to).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': pitrConfig.database.namespace } }, podSelector: { matchLabels: (deploymentSpec.template as { metadata?: { labels?: Record<string, string> } }).metadata?.labels } },
    ]);
  });

  it('grants the bot what the point-in-time restore calls in the database\'s namespace — only with deploy/database/ applied', () => {
    const { namespace, deployment: db } = pitrConfig.database;
    const calls: ResourceAttributes[] = [
      { verb: 'get', apiGroup: 'apps', resource: 'deployments', subresource: 'scale', namespace, name: db },
      { verb: 'patch', apiGroup: 'apps', resource: 'deployments', subresource: 'scale', namespace, name: db },
      { verb: 'patch', apiGroup: '', resource: 'configmaps', namespace, name: pitrRestoreConfigMap(db) },
    ];
    const withPitr = loadDeployRbac({ extraFiles: ['deploy/database/rbac-recipedb-ops.yaml'] });
    const without = loadDeployRbac();
    for (const call of calls) {
      expect(withPitr.authorize(call), JSON.stringify(call)).toBe(true);
      expect(without.authorize(call), JSON.stringify(call)).toBe(false);
    }
    for (const refused of [
      { verb: 'patch', apiGroup: '', resource: 'configmaps', namespace, name: 'recipe-database-pgbackrest' },
      // (`patch` of the deployment itself is deploy/rbac-database.yaml's, for `resize` and `image`.)
      { verb: 'get', apiGroup: '', resource: 'configmaps', namespace, name: pitrRestoreConfigMap(db) },
      { verb: 'create', apiGroup: 'batch', resource: 'jobs', namespace },
      { verb: 'create', apiGroup: '', resource: 'pods', subresource: 'exec', namespace, name: `${db}-0` },
    ] satisfies ResourceAttributes[]) {
      expect(withPitr.authorize(refused), JSON.stringify(refused)).toBe(false);
    }
  });
});
