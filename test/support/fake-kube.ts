// A fake Kubernetes API server: a real HTTP server on 127.0.0.1 answering the handful of endpoints the
// bot uses with the real JSON shapes, so tests drive the real @kubernetes/client-node over the wire.
// It authorizes every request as the bot's ServiceAccount under deploy/'s RBAC (fake-kube-rbac.ts),
// answering 403 as the API server does for anything those Roles do not grant.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forbiddenStatus, loadDeployRbac, requestAttributes, type Rbac } from './fake-kube-rbac.js';

export interface FakeContainer {
  name: string;
  requests?: { cpu?: string; memory?: string };
  limits?: { cpu?: string; memory?: string };
  /** As in a pod spec: `[{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name, key } } }]`. */
  env?: Json[];
  /** As in a pod spec: `[{ secretRef: { name } }]`. */
  envFrom?: Json[];
}

/** A Secret as the API stores it: `data` holds base64 values (what `secret()` decodes). */
export interface FakeSecretView {
  data: Record<string, string>;
  resourceVersion: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  body?: unknown;
}

export interface FakeDeploymentView {
  spec: { replicas: number };
  status: { replicas: number; readyReplicas: number; updatedReplicas: number; availableReplicas: number };
}

export interface FakeKubeOptions {
  /** `deploy` (the default): deploy/'s Roles for the bot's ServiceAccount; `none`: everything allowed. */
  rbac?: 'deploy' | 'none';
  /** More RBAC manifests applied on top, from the repository root: `['deploy/optional/node-read.yaml']`. */
  extraRbacFiles?: string[];
}

export interface FakeKube {
  url: string;
  kubeconfigPath: string;
  requests: FakeRequest[];
  /** The requests refused with 403 because the RBAC did not grant them (also in `requests`). */
  forbidden: FakeRequest[];
  addDeployment(d: {
    namespace: string;
    name: string;
    replicas: number;
    labels?: Record<string, string>;
    containers?: FakeContainer[];
    /** Pod volumes, as in a pod spec: `[{ name: 'creds', secret: { secretName } }]`. */
    volumes?: Json[];
  }): void;
  deployment(namespace: string, name: string): FakeDeploymentView | undefined;
  /** The pod template's annotations (a restart sets kubectl.kubernetes.io/restartedAt) and its revision. */
  template(namespace: string, name: string): { annotations: Record<string, string>; revision: number } | undefined;
  /** Whether the pods of the next rollouts of this deployment become ready (default true). */
  setRolloutReady(namespace: string, name: string, ready: boolean): void;
  /** A Secret with these plain values (stored base64, as the API does). */
  addSecret(namespace: string, name: string, values: Record<string, string>): void;
  /** The Secret's decoded values, or undefined when it does not exist. */
  secret(namespace: string, name: string): (Omit<FakeSecretView, 'data'> & { values: Record<string, string> }) | undefined;
  setPod(namespace: string, podName: string, patch: { phase?: string; ready?: boolean; restarts?: number }): void;
  setLogs(namespace: string, podName: string, container: string, text: string): void;
  setPodMetrics(namespace: string, podName: string, usage: Record<string, { cpu: string; memory: string }>): void;
  setNodes(
    nodes: { name: string; cpu: string; memory: string; allocatableCpu: string; allocatableMemory: string }[],
  ): void;
  rolloutDelayMs: number;
  hang(pathPrefix: string | null): void;
  /** Answers `status` to requests under the path (only those of `method`, when given); null clears all. */
  failWith(pathPrefix: string | null, status: number, method?: string): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

interface Deployment {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  containers: FakeContainer[];
  volumes: Json[];
  replicas: number;
  generation: number;
  created: string;
  /** Pod template revision: 1 at creation, +1 per template change (a restart). */
  revision: number;
  templateHash: string;
  templateAnnotations: Record<string, string>;
  newPodsReady: boolean;
  rollout?: NodeJS.Timeout;
}

interface Secret {
  namespace: string;
  name: string;
  uid: string;
  data: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  resourceVersion: string;
  created: string;
}

interface Pod {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  owner: string;
  templateHash: string;
  containers: FakeContainer[];
  volumes: Json[];
  phase: string;
  ready: boolean;
  restarts: number;
  startTime: string;
  nodeName: string;
}

interface LogLine {
  time: Date;
  stamp: string;
  text: string;
}

interface FakeNode {
  name: string;
  cpu: string;
  memory: string;
  allocatableCpu: string;
  allocatableMemory: string;
}

// The first ReplicaSet revision of every fake deployment has this hash, so pod names are predictable;
// each template change (a restart) gets another one.
const TEMPLATE_HASH = '7d9f8b';

function templateHash(revision: number): string {
  if (revision <= 1) return TEMPLATE_HASH;
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let n = revision * 7919;
  let hash = '';
  for (let i = 0; i < 6; i++) {
    hash += alphabet[n % alphabet.length];
    n = Math.floor(n / alphabet.length) + 31 * (i + 1);
  }
  return hash;
}
const RFC3339_PREFIX = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))\s(.*)$/;

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details?: Json,
  ) {
    super(message);
  }
}

function statusObject(code: number, message: string, details?: Json): Json {
  const status: Json = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: REASONS[code] ?? 'Unknown', code };
  if (details !== undefined) status.details = details;
  return status;
}

function notFound(resource: string, group: string, name: string): HttpError {
  const qualified = group === '' ? resource : `${resource}.${group}`;
  return new HttpError(404, `${qualified} "${name}" not found`, { name, group: group || undefined, kind: resource });
}

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Kubernetes-style random suffix (its alphabet avoids vowels and look-alike characters). */
function suffix(length = 5): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

/** `app=x,tier=db` (equality-based selectors only; `==` is accepted as Kubernetes does). */
function matchesSelector(labels: Record<string, string>, selector: string | undefined): boolean {
  if (selector === undefined || selector.trim() === '') return true;
  return selector.split(',').every((term) => {
    const neq = /^\s*([^!=\s]+)\s*!=\s*(.*?)\s*$/.exec(term);
    if (neq?.[1] !== undefined) return labels[neq[1]] !== neq[2];
    const eq = /^\s*([^!=\s]+)\s*==?\s*(.*?)\s*$/.exec(term);
    if (eq?.[1] !== undefined) return labels[eq[1]] === eq[2];
    const exists = /^\s*(!?)([^!=\s]+)\s*$/.exec(term);
    if (exists?.[2] !== undefined) return (exists[2] in labels) !== (exists[1] === '!');
    return false;
  });
}

function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Real API objects leave zero-valued counters out (Go's omitempty); so does this fake. */
function omitZero(counts: Record<string, number>): Json {
  return Object.fromEntries(Object.entries(counts).filter(([, v]) => v !== 0));
}

/** The pod spec fields the fake models: containers (resources, env, envFrom) and volumes. */
function podSpecFields(containers: FakeContainer[], volumes: Json[], image?: string): Json {
  const spec: Json = {
    containers: containers.map((c) => {
      const container: Json = { name: c.name, image: image ?? `registry.example.com/${c.name}:1.0`, resources: resources(c) };
      if (c.env !== undefined) container.env = c.env;
      if (c.envFrom !== undefined) container.envFrom = c.envFrom;
      return container;
    }),
  };
  if (volumes.length > 0) spec.volumes = volumes;
  return spec;
}

function resources(c: FakeContainer): Json {
  const r: Json = {};
  if (c.requests !== undefined) r.requests = c.requests;
  if (c.limits !== undefined) r.limits = c.limits;
  return r;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeKube(options: FakeKubeOptions = {}): Promise<FakeKube> {
  const rbac: Rbac | null = options.rbac === 'none' ? null : loadDeployRbac({ extraFiles: options.extraRbacFiles });
  const deployments = new Map<string, Deployment>();
  const secrets = new Map<string, Secret>();
  const pods = new Map<string, Pod>();
  const logs = new Map<string, LogLine[]>();
  const podMetrics = new Map<string, Record<string, { cpu: string; memory: string }>>();
  let nodes: FakeNode[] = [];
  const requests: FakeRequest[] = [];
  const forbidden: FakeRequest[] = [];
  const hangs = new Set<string>();
  const failures = new Map<string, { status: number; method?: string }>();
  const hung = new Set<ServerResponse>();
  let resourceVersion = 1000;

  const key = (namespace: string, name: string): string => `${namespace}/${name}`;
  const nextRv = (): string => String(++resourceVersion);

  function podsOf(d: Deployment): Pod[] {
    return [...pods.values()].filter((p) => p.owner === key(d.namespace, d.name));
  }

  function createPod(d: Deployment, index: number, ready = true): void {
    let name: string;
    do name = `${d.name}-${d.templateHash}-${suffix()}`;
    while (pods.has(key(d.namespace, name)));
    pods.set(key(d.namespace, name), {
      namespace: d.namespace,
      name,
      uid: randomUUID(),
      labels: { ...d.labels, 'pod-template-hash': d.templateHash },
      owner: key(d.namespace, d.name),
      templateHash: d.templateHash,
      containers: d.containers,
      volumes: d.volumes,
      phase: 'Running',
      ready,
      restarts: 0,
      startTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      nodeName: nodes.length > 0 ? (nodes[index % nodes.length]?.name ?? 'fake-node-1') : 'fake-node-1',
    });
  }

  /** The ReplicaSet controller's work: make the pod count match spec.replicas. */
  function syncPods(d: Deployment): void {
    nextRv();
    const current = podsOf(d);
    for (let i = current.length; i < d.replicas; i++) createPod(d, i);
    // Scale down removes the newest pods first, as the ReplicaSet controller prefers.
    for (const p of current.slice(d.replicas).reverse()) {
      pods.delete(key(p.namespace, p.name));
      podMetrics.delete(key(p.namespace, p.name));
    }
  }

  function counts(d: Deployment): FakeDeploymentView['status'] {
    const owned = podsOf(d);
    const ready = owned.filter((p) => p.ready && p.phase === 'Running').length;
    const updated = owned.filter((p) => p.templateHash === d.templateHash).length;
    return { replicas: owned.length, readyReplicas: ready, updatedReplicas: updated, availableReplicas: ready };
  }

  /**
   * The deployment controller's rolling update after a template change, in one go: new pods with
   * the new hash; once they are ready the old ones go. Pods that never become ready
   * (setRolloutReady false) leave the old ones running, as a stuck rollout does.
   */
  function rollOut(d: Deployment): void {
    nextRv();
    const old = podsOf(d).filter((p) => p.templateHash !== d.templateHash);
    for (let i = 0; i < d.replicas; i++) createPod(d, i, d.newPodsReady);
    if (!d.newPodsReady) return;
    for (const p of old) {
      pods.delete(key(p.namespace, p.name));
      podMetrics.delete(key(p.namespace, p.name));
    }
  }

  function changeTemplate(d: Deployment, annotations: Record<string, unknown>): void {
    let changed = false;
    for (const [name, value] of Object.entries(annotations)) {
      if (value === null) {
        if (name in d.templateAnnotations) changed = true;
        delete d.templateAnnotations[name];
      } else if (typeof value === 'string') {
        if (d.templateAnnotations[name] !== value) changed = true;
        d.templateAnnotations[name] = value;
      } else {
        throw new HttpError(422, `Deployment.apps "${d.name}" is invalid: spec.template.metadata.annotations: Invalid value: annotation values must be strings`);
      }
    }
    if (!changed) return;
    d.generation += 1;
    d.revision += 1;
    d.templateHash = templateHash(d.revision);
    if (d.rollout !== undefined) clearTimeout(d.rollout);
    d.rollout = undefined;
    if (fake.rolloutDelayMs <= 0) {
      rollOut(d);
      return;
    }
    d.rollout = setTimeout(() => {
      d.rollout = undefined;
      rollOut(d);
    }, fake.rolloutDelayMs);
  }

  /** A merge or strategic merge patch of a deployment: its replicas and its pod template's annotations. */
  function patchDeployment(d: Deployment, contentType: string, body: unknown, dryRun: boolean): void {
    if (contentType !== 'application/merge-patch+json' && contentType !== 'application/strategic-merge-patch+json') {
      throw new HttpError(415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
    }
    if (!isRecord(body)) throw new HttpError(400, 'the patch body must be a JSON object');
    const spec = isRecord(body.spec) ? body.spec : {};
    const template = isRecord(spec.template) ? spec.template : {};
    const meta = isRecord(template.metadata) ? template.metadata : {};
    const supported = Object.keys(body).every((k) => k === 'spec' || k === 'metadata') &&
      Object.keys(spec).every((k) => k === 'replicas' || k === 'template') &&
      Object.keys(template).every((k) => k === 'metadata') &&
      Object.keys(meta).every((k) => k === 'annotations');
    if (!supported) throw new HttpError(422, `fake kube: only spec.replicas and spec.template.metadata.annotations can be patched, not ${JSON.stringify(body)}`);
    if (meta.annotations !== undefined && !isRecord(meta.annotations)) throw new HttpError(400, 'spec.template.metadata.annotations must be an object');
    if (dryRun) return;
    if ('replicas' in spec) setReplicas(d, spec.replicas);
    if (isRecord(meta.annotations)) changeTemplate(d, meta.annotations);
  }

  function setReplicas(d: Deployment, replicas: unknown): void {
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw new HttpError(422, `Scale.autoscaling "${d.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
    }
    if (replicas === d.replicas) return;
    d.replicas = replicas;
    d.generation += 1;
    nextRv();
    if (d.rollout !== undefined) clearTimeout(d.rollout);
    d.rollout = undefined;
    if (fake.rolloutDelayMs <= 0) {
      syncPods(d);
      return;
    }
    d.rollout = setTimeout(() => {
      d.rollout = undefined;
      syncPods(d);
    }, fake.rolloutDelayMs);
  }

  function deploymentJson(d: Deployment, withKind: boolean): Json {
    const c = counts(d);
    const progressing = c.updatedReplicas === d.replicas && c.availableReplicas === d.replicas;
    const obj: Json = {
      metadata: {
        name: d.name,
        namespace: d.namespace,
        uid: d.uid,
        resourceVersion: String(resourceVersion),
        generation: d.generation,
        creationTimestamp: d.created,
        labels: d.labels,
        annotations: { 'deployment.kubernetes.io/revision': String(d.revision) },
      },
      spec: {
        replicas: d.replicas,
        selector: { matchLabels: d.labels },
        template: {
          metadata: Object.keys(d.templateAnnotations).length > 0 ? { labels: d.labels, annotations: { ...d.templateAnnotations } } : { labels: d.labels },
          spec: podSpecFields(d.containers, d.volumes, `registry.example.com/${d.name}:1.0`),
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      },
      status: {
        observedGeneration: d.generation,
        ...omitZero({ ...c, unavailableReplicas: Math.max(0, d.replicas - c.availableReplicas) }),
        conditions: [
          {
            type: 'Available',
            status: c.availableReplicas >= d.replicas ? 'True' : 'False',
            reason: c.availableReplicas >= d.replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
            lastUpdateTime: d.created,
            lastTransitionTime: d.created,
          },
          {
            type: 'Progressing',
            status: 'True',
            reason: progressing ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
            lastUpdateTime: d.created,
            lastTransitionTime: d.created,
          },
        ],
      },
    };
    return withKind ? { kind: 'Deployment', apiVersion: 'apps/v1', ...obj } : obj;
  }

  function scaleJson(d: Deployment): Json {
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: d.name, namespace: d.namespace, uid: d.uid, resourceVersion: String(resourceVersion), creationTimestamp: d.created },
      // ScaleSpec.replicas is omitempty: a deployment scaled to zero answers `spec: {}`.
      spec: omitZero({ replicas: d.replicas }),
      status: { replicas: counts(d).replicas, selector: selectorString(d.labels) },
    };
  }

  function podJson(p: Pod, withKind: boolean): Json {
    const running = p.phase === 'Running';
    const ready = running && p.ready;
    const cond = (type: string, ok: boolean): Json => ({ type, status: ok ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: p.startTime });
    const obj: Json = {
      metadata: {
        name: p.name,
        generateName: `${p.name.slice(0, -5)}`,
        namespace: p.namespace,
        uid: p.uid,
        resourceVersion: String(resourceVersion),
        creationTimestamp: p.startTime,
        labels: p.labels,
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${p.owner.split('/')[1] ?? ''}-${p.templateHash}`, uid: randomUUID(), controller: true, blockOwnerDeletion: true },
        ],
      },
      spec: {
        ...podSpecFields(p.containers, p.volumes),
        nodeName: p.nodeName,
        restartPolicy: 'Always',
      },
      status: {
        phase: p.phase,
        conditions: [cond('Initialized', true), cond('Ready', ready), cond('ContainersReady', ready), cond('PodScheduled', true)],
        hostIP: '10.0.0.10',
        podIP: '10.244.0.10',
        startTime: p.startTime,
        // Restarts are reported on the first container; the others never restarted.
        containerStatuses: p.containers.map((c, i) => {
          const restartCount = i === 0 ? p.restarts : 0;
          const status: Json = {
            name: c.name,
            ready,
            started: running,
            restartCount,
            image: `registry.example.com/${c.name}:1.0`,
            imageID: `registry.example.com/${c.name}@sha256:${'0'.repeat(64)}`,
            containerID: `containerd://${p.uid.replace(/-/g, '')}${i}`,
            state: running ? { running: { startedAt: p.startTime } } : { waiting: { reason: p.phase === 'Pending' ? 'ContainerCreating' : 'CrashLoopBackOff' } },
          };
          if (restartCount > 0) {
            status.lastState = { terminated: { exitCode: 1, reason: 'Error', startedAt: p.startTime, finishedAt: p.startTime } };
          }
          return status;
        }),
      },
    };
    return withKind ? { kind: 'Pod', apiVersion: 'v1', ...obj } : obj;
  }

  function secretJson(x: Secret): Json {
    const metadata: Json = { name: x.name, namespace: x.namespace, uid: x.uid, resourceVersion: x.resourceVersion, creationTimestamp: x.created };
    if (Object.keys(x.labels).length > 0) metadata.labels = x.labels;
    if (Object.keys(x.annotations).length > 0) metadata.annotations = x.annotations;
    // `data` is omitempty; stringData is write-only and never returned.
    const obj: Json = { kind: 'Secret', apiVersion: 'v1', metadata, type: 'Opaque' };
    if (Object.keys(x.data).length > 0) obj.data = { ...x.data };
    return obj;
  }

  function getSecret(ns: string, name: string): Secret {
    const x = secrets.get(key(ns, name));
    if (x === undefined) throw notFound('secrets', '', name);
    return x;
  }

  /** Validates `data` (base64 values) and `stringData` (plain values, merged over data) as the API server does. */
  function secretValues(name: string, data: unknown, stringData: unknown, allowNull: boolean): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    const keyOk = (k: string): boolean => /^[-._a-zA-Z0-9]+$/.test(k) && k.length <= 253;
    for (const [field, source] of [['data', data], ['stringData', stringData]] as const) {
      if (source === undefined || source === null) continue;
      if (!isRecord(source)) throw new HttpError(400, `Secret in version "v1" cannot be handled as a Secret: ${field} must be an object`);
      for (const [k, v] of Object.entries(source)) {
        if (!keyOk(k)) throw new HttpError(422, `Secret "${name}" is invalid: ${field}[${k}]: Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`);
        if (v === null && allowNull) {
          out[k] = null;
          continue;
        }
        if (typeof v !== 'string') throw new HttpError(400, `Secret in version "v1" cannot be handled as a Secret: ${field}.${k} must be a string`);
        if (field === 'stringData') out[k] = Buffer.from(v, 'utf8').toString('base64');
        else if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
          // The API server rejects data values that are not standard base64 (and says nothing of the value).
          throw new HttpError(400, `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0`);
        } else out[k] = v;
      }
    }
    return out;
  }

  function createSecretObject(ns: string, body: unknown, dryRun: boolean): Json {
    if (!isRecord(body) || !isRecord(body.metadata)) throw new HttpError(400, 'Secret in version "v1" cannot be handled as a Secret: no metadata');
    const name = body.metadata.name;
    if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) {
      throw new HttpError(422, `Secret "${String(name)}" is invalid: metadata.name: Invalid value: "${String(name)}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
    }
    if (body.metadata.namespace !== undefined && body.metadata.namespace !== ns) {
      throw new HttpError(400, `the namespace of the provided object does not match the namespace sent on the request`);
    }
    if (secrets.has(key(ns, name))) throw new HttpError(409, `secrets "${name}" already exists`, { name, kind: 'secrets' });
    const values = secretValues(name, body.data, body.stringData, false) as Record<string, string>;
    const x: Secret = {
      namespace: ns,
      name,
      uid: randomUUID(),
      data: values,
      labels: isRecord(body.metadata.labels) ? (body.metadata.labels as Record<string, string>) : {},
      annotations: isRecord(body.metadata.annotations) ? (body.metadata.annotations as Record<string, string>) : {},
      resourceVersion: nextRv(),
      created: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    if (!dryRun) secrets.set(key(ns, name), x);
    return secretJson(x);
  }

  /** A merge (or strategic merge) patch of a Secret's data, stringData, labels and annotations. */
  function patchSecret(x: Secret, contentType: string, body: unknown, dryRun: boolean): Json {
    if (contentType !== 'application/merge-patch+json' && contentType !== 'application/strategic-merge-patch+json') {
      throw new HttpError(415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
    }
    if (!isRecord(body)) throw new HttpError(400, 'the patch body must be a JSON object');
    const meta = isRecord(body.metadata) ? body.metadata : {};
    if (typeof meta.resourceVersion === 'string' && meta.resourceVersion !== x.resourceVersion) {
      throw new HttpError(409, `Operation cannot be fulfilled on secrets "${x.name}": the object has been modified; please apply your changes to the latest version and try again`, { name: x.name, kind: 'secrets' });
    }
    const values = secretValues(x.name, body.data, body.stringData, true);
    const data = { ...x.data };
    for (const [k, v] of Object.entries(values)) {
      if (v === null) delete data[k];
      else data[k] = v;
    }
    const merge = (current: Record<string, string>, patch: unknown): Record<string, string> => {
      if (!isRecord(patch)) return current;
      const next = { ...current };
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete next[k];
        else if (typeof v === 'string') next[k] = v;
      }
      return next;
    };
    const patched: Secret = { ...x, data, labels: merge(x.labels, meta.labels), annotations: merge(x.annotations, meta.annotations) };
    const unchanged = JSON.stringify([patched.data, patched.labels, patched.annotations]) === JSON.stringify([x.data, x.labels, x.annotations]);
    if (dryRun || unchanged) return secretJson(patched);
    patched.resourceVersion = nextRv();
    secrets.set(key(x.namespace, x.name), patched);
    return secretJson(patched);
  }

  function list(kind: string, apiVersion: string, items: Json[]): Json {
    return { kind, apiVersion, metadata: { resourceVersion: String(resourceVersion) }, items };
  }

  function getDeployment(ns: string, name: string): Deployment {
    const d = deployments.get(key(ns, name));
    if (d === undefined) throw notFound('deployments', 'apps', name);
    return d;
  }

  function getPod(ns: string, name: string): Pod {
    const p = pods.get(key(ns, name));
    if (p === undefined) throw notFound('pods', '', name);
    return p;
  }

  function applyScaleBody(d: Deployment, method: string, contentType: string, body: unknown): void {
    if (method === 'PUT') {
      const spec = isRecord(body) && isRecord(body.spec) ? body.spec : {};
      // A Scale with `spec: {}` means zero replicas (omitempty on the wire).
      setReplicas(d, spec.replicas ?? 0);
      return;
    }
    if (contentType === 'application/merge-patch+json' || contentType === 'application/strategic-merge-patch+json') {
      if (!isRecord(body)) throw new HttpError(400, 'the patch body must be a JSON object');
      if (isRecord(body.spec) && 'replicas' in body.spec) setReplicas(d, body.spec.replicas);
      return;
    }
    if (contentType === 'application/json-patch+json') {
      if (!Array.isArray(body)) throw new HttpError(400, 'json patch must be an array of operations');
      for (const op of body) {
        if (!isRecord(op) || op.path !== '/spec/replicas') throw new HttpError(422, `unsupported json patch operation: ${JSON.stringify(op)}`);
        if (op.op === 'replace' || op.op === 'add') setReplicas(d, op.value);
        else if (op.op === 'test' && op.value !== d.replicas) throw new HttpError(422, `the server rejected our request due to an error in our request: testing value /spec/replicas failed`);
        else if (op.op !== 'test') throw new HttpError(422, `unsupported json patch operation: ${String(op.op)}`);
      }
      return;
    }
    throw new HttpError(
      415,
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
    );
  }

  function readLogs(ns: string, podName: string, query: Record<string, string>): string {
    const p = getPod(ns, podName);
    const names = p.containers.map((c) => c.name);
    let container = query.container;
    if (container === undefined || container === '') {
      if (names.length !== 1) throw new HttpError(400, `a container name must be specified for pod ${podName}, choose one of: [${names.join(' ')}]`);
      container = names[0] ?? '';
    }
    if (!names.includes(container)) throw new HttpError(400, `container ${container} is not valid for pod ${podName}`);
    let lines = logs.get(`${key(ns, podName)}/${container}`) ?? [];
    const since = Number(query.sinceSeconds);
    if (query.sinceSeconds !== undefined && Number.isFinite(since)) {
      const cutoff = Date.now() - since * 1000;
      lines = lines.filter((l) => l.time.getTime() >= cutoff);
    }
    const tail = Number(query.tailLines);
    if (query.tailLines !== undefined && Number.isInteger(tail) && tail >= 0) lines = tail === 0 ? [] : lines.slice(-tail);
    const stamped = query.timestamps === 'true';
    return lines.map((l) => `${stamped ? `${l.stamp} ` : ''}${l.text}\n`).join('');
  }

  function podMetricsJson(p: Pod): Json | undefined {
    const usage = podMetrics.get(key(p.namespace, p.name));
    if (usage === undefined) return undefined;
    return {
      metadata: { name: p.name, namespace: p.namespace, creationTimestamp: new Date().toISOString(), labels: p.labels },
      timestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      window: '30s',
      containers: Object.entries(usage).map(([name, u]) => ({ name, usage: { cpu: u.cpu, memory: u.memory } })),
    };
  }

  function nodeJson(n: FakeNode): Json {
    const allocatable = { cpu: n.allocatableCpu, memory: n.allocatableMemory, pods: '110' };
    return {
      metadata: { name: n.name, uid: randomUUID(), labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' }, creationTimestamp: '2024-01-01T00:00:00Z' },
      spec: {},
      status: {
        // The fake does not model system reservations: capacity equals allocatable.
        capacity: allocatable,
        allocatable,
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
        nodeInfo: { kubeletVersion: 'v1.30.0', osImage: 'Fake Linux', architecture: 'amd64', operatingSystem: 'linux' },
      },
    };
  }

  /** Routes one request; returns JSON or text, or throws an HttpError. */
  function route(method: string, path: string, query: Record<string, string>, contentType: string, body: unknown): Json | string {
    const seg = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
    const at = (i: number): string => seg[i] ?? '';
    const is = (...parts: (string | null)[]): boolean => seg.length === parts.length && parts.every((p, i) => p === null || p === seg[i]);
    const get = method === 'GET';

    if (get && is('version')) {
      return { major: '1', minor: '30', gitVersion: 'v1.30.0', gitCommit: '0'.repeat(40), gitTreeState: 'clean', buildDate: '2024-04-17T00:00:00Z', goVersion: 'go1.22.2', compiler: 'gc', platform: 'linux/amd64' };
    }
    // apps/v1 deployments
    if (get && is('apis', 'apps', 'v1', 'namespaces', null, 'deployments')) {
      const items = [...deployments.values()].filter((d) => d.namespace === at(4) && matchesSelector(d.labels, query.labelSelector));
      return list('DeploymentList', 'apps/v1', items.map((d) => deploymentJson(d, false)));
    }
    if (get && (is('apis', 'apps', 'v1', 'namespaces', null, 'deployments', null) || is('apis', 'apps', 'v1', 'namespaces', null, 'deployments', null, 'status'))) {
      return deploymentJson(getDeployment(at(4), at(6)), true);
    }
    if (method === 'PATCH' && is('apis', 'apps', 'v1', 'namespaces', null, 'deployments', null)) {
      const d = getDeployment(at(4), at(6));
      patchDeployment(d, contentType, body, query.dryRun === 'All');
      return deploymentJson(d, true);
    }
    if (is('apis', 'apps', 'v1', 'namespaces', null, 'deployments', null, 'scale')) {
      const d = getDeployment(at(4), at(6));
      if (method === 'PUT' || method === 'PATCH') applyScaleBody(d, method, contentType, body);
      else if (!get) throw new HttpError(405, `the server does not allow this method on the requested resource`);
      return scaleJson(d);
    }
    // core/v1 pods and nodes
    if (get && (is('api', 'v1', 'namespaces', null, 'pods') || is('api', 'v1', 'pods'))) {
      const ns = seg.length === 5 ? at(3) : undefined;
      const items = [...pods.values()].filter((p) => (ns === undefined || p.namespace === ns) && matchesSelector(p.labels, query.labelSelector));
      return list('PodList', 'v1', items.map((p) => podJson(p, false)));
    }
    if (get && is('api', 'v1', 'namespaces', null, 'pods', null)) return podJson(getPod(at(3), at(5)), true);
    if (get && is('api', 'v1', 'namespaces', null, 'pods', null, 'log')) return readLogs(at(3), at(5), query);
    if (get && is('api', 'v1', 'nodes')) return list('NodeList', 'v1', nodes.map(nodeJson));
    // core/v1 secrets
    if (is('api', 'v1', 'namespaces', null, 'secrets')) {
      if (get) return list('SecretList', 'v1', [...secrets.values()].filter((x) => x.namespace === at(3)).map(secretJson));
      if (method === 'POST') return createSecretObject(at(3), body, query.dryRun === 'All');
    }
    if (is('api', 'v1', 'namespaces', null, 'secrets', null)) {
      const x = getSecret(at(3), at(5));
      if (get) return secretJson(x);
      if (method === 'PATCH') return patchSecret(x, contentType, body, query.dryRun === 'All');
    }
    // metrics.k8s.io
    if (get && (is('apis', 'metrics.k8s.io', 'v1beta1', 'namespaces', null, 'pods') || is('apis', 'metrics.k8s.io', 'v1beta1', 'pods'))) {
      const ns = seg.length === 6 ? at(4) : undefined;
      const items = [...pods.values()]
        .filter((p) => (ns === undefined || p.namespace === ns) && matchesSelector(p.labels, query.labelSelector))
        .map(podMetricsJson)
        .filter((m): m is Json => m !== undefined);
      return { kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items };
    }
    if (get && is('apis', 'metrics.k8s.io', 'v1beta1', 'nodes')) {
      // setNodes' cpu/memory are the node's current usage, as `kubectl top nodes` shows it.
      const items = nodes.map((n) => ({
        metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name }, creationTimestamp: new Date().toISOString() },
        timestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        window: '20.05s',
        usage: { cpu: n.cpu, memory: n.memory },
      }));
      return { kind: 'NodeMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items };
    }
    throw new HttpError(404, 'the server could not find the requested resource');
  }

  function send(res: ServerResponse, status: number, body: Json | string): void {
    const text = typeof body === 'string';
    res.writeHead(status, { 'content-type': text ? 'text/plain' : 'application/json', 'cache-control': 'no-cache, private' });
    res.end(text ? body : JSON.stringify(body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const query = Object.fromEntries(url.searchParams);
    const rawType = req.headers['content-type'];
    const contentType = (rawType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const text = await readBody(req);
    let body: unknown;
    if (text.length > 0) {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = text;
      }
    }
    const record: FakeRequest = { method, path: url.pathname, query };
    if (rawType !== undefined) record.contentType = rawType;
    if (body !== undefined) record.body = body;
    requests.push(record);

    const startsWith = (prefix: string): boolean => url.pathname.startsWith(prefix);
    if ([...hangs].some(startsWith)) {
      // Never answered; close() destroys it so the server can shut down.
      hung.add(res);
      return;
    }
    // Authorization comes before any handler, as in the API server: an injected failure stands for
    // what is behind it (a missing metrics API, a broken backend); a hung server answers nothing.
    if (rbac !== null) {
      const attributes = requestAttributes(method, url.pathname, query);
      if (!rbac.allows(attributes)) {
        forbidden.push(record);
        const { message, details } = forbiddenStatus(attributes, rbac.user);
        send(res, 403, statusObject(403, message, details));
        return;
      }
    }
    const failure = [...failures].find(([prefix, f]) => startsWith(prefix) && (f.method === undefined || f.method === method));
    if (failure !== undefined) {
      send(res, failure[1].status, statusObject(failure[1].status, `injected failure for ${url.pathname}`));
      return;
    }
    if (typeof body === 'string') {
      send(res, 400, statusObject(400, `the request body is not valid JSON`));
      return;
    }
    try {
      send(res, 200, route(method, url.pathname, query, contentType, body));
    } catch (err) {
      if (err instanceof HttpError) send(res, err.code, statusObject(err.code, err.message, err.details));
      else send(res, 500, statusObject(500, `fake kube error: ${String(err)}`));
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, statusObject(500, `fake kube error: ${String(err)}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const dir = mkdtempSync(join(tmpdir(), 'fake-kube-'));
  const kubeconfigPath = join(dir, 'kubeconfig.yaml');
  // client-node 1.x refuses plain http:// unless the cluster skips TLS verification.
  writeFileSync(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: fake',
      '  cluster:',
      `    server: ${url}`,
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: fake-user',
      '  user:',
      '    token: test-token',
      'contexts:',
      '- name: fake',
      '  context:',
      '    cluster: fake',
      '    user: fake-user',
      '    namespace: default',
      'current-context: fake',
      '',
    ].join('\n'),
  );

  const fake: FakeKube = {
    url,
    kubeconfigPath,
    requests,
    forbidden,
    rolloutDelayMs: 0,

    addDeployment({ namespace, name, replicas, labels = { app: name }, containers = [{ name }], volumes = [] }) {
      const d: Deployment = {
        namespace,
        name,
        uid: randomUUID(),
        labels,
        containers,
        volumes,
        replicas,
        generation: 1,
        created: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        revision: 1,
        templateHash: TEMPLATE_HASH,
        templateAnnotations: {},
        newPodsReady: true,
      };
      deployments.set(key(namespace, name), d);
      syncPods(d);
    },

    deployment(namespace, name) {
      const d = deployments.get(key(namespace, name));
      return d === undefined ? undefined : { spec: { replicas: d.replicas }, status: counts(d) };
    },

    template(namespace, name) {
      const d = deployments.get(key(namespace, name));
      return d === undefined ? undefined : { annotations: { ...d.templateAnnotations }, revision: d.revision };
    },

    setRolloutReady(namespace, name, ready) {
      const d = deployments.get(key(namespace, name));
      if (d === undefined) throw new Error(`fake kube: no deployment ${namespace}/${name}`);
      d.newPodsReady = ready;
    },

    addSecret(namespace, name, values) {
      secrets.set(key(namespace, name), {
        namespace,
        name,
        uid: randomUUID(),
        data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
        labels: {},
        annotations: {},
        resourceVersion: nextRv(),
        created: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      });
    },

    secret(namespace, name) {
      const x = secrets.get(key(namespace, name));
      if (x === undefined) return undefined;
      const values = Object.fromEntries(Object.entries(x.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
      return { values, resourceVersion: x.resourceVersion, labels: { ...x.labels }, annotations: { ...x.annotations } };
    },

    setPod(namespace, podName, patch) {
      const p = pods.get(key(namespace, podName));
      if (p === undefined) throw new Error(`fake kube: no pod ${namespace}/${podName}; pods: ${[...pods.keys()].join(', ')}`);
      if (patch.phase !== undefined) p.phase = patch.phase;
      if (patch.ready !== undefined) p.ready = patch.ready;
      if (patch.restarts !== undefined) p.restarts = patch.restarts;
      nextRv();
    },

    setLogs(namespace, podName, container, text) {
      // Lines may carry their own RFC3339 timestamp (used for sinceSeconds and timestamps=true);
      // lines without one are stamped with the time of this call.
      const now = new Date();
      const lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      logs.set(
        `${key(namespace, podName)}/${container}`,
        lines.map((line) => {
          const m = RFC3339_PREFIX.exec(line);
          if (m?.[1] !== undefined && m[2] !== undefined && !Number.isNaN(Date.parse(m[1]))) return { time: new Date(m[1]), stamp: m[1], text: m[2] };
          return { time: now, stamp: now.toISOString(), text: line };
        }),
      );
    },

    setPodMetrics(namespace, podName, usage) {
      podMetrics.set(key(namespace, podName), usage);
    },

    setNodes(list) {
      nodes = list.map((n) => ({ ...n }));
    },

    hang(pathPrefix) {
      if (pathPrefix === null) hangs.clear();
      else hangs.add(pathPrefix);
    },

    failWith(pathPrefix, status, method) {
      if (pathPrefix === null) failures.clear();
      else failures.set(pathPrefix, { status, method });
    },

    close() {
      for (const d of deployments.values()) if (d.rollout !== undefined) clearTimeout(d.rollout);
      for (const res of hung) res.destroy();
      hung.clear();
      rmSync(dir, { recursive: true, force: true });
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
  return fake;
}
