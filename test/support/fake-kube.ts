// A fake Kubernetes API server: a real HTTP server on 127.0.0.1 answering the handful of endpoints the
// bot uses with the real JSON shapes, so tests drive the real @kubernetes/client-node over the wire.
// It authorizes every request as the bot's ServiceAccount under deploy/'s RBAC (fake-kube-rbac.ts),
// answering 403 as the API server does for anything those Roles do not grant.
//
// Deployments roll out as the deployment controller rolls them out: a change of the pod template
// (a patch of the image or of the resources) makes a new ReplicaSet revision (or takes back an old
// one with the same template, as `kubectl rollout undo` does) whose pods replace the old ones by the
// deployment's strategy; `Recreate` stops the old pod first, `RollingUpdate` keeps it until the new
// one is ready. How a new pod does is set per image (setImageBehaviour): ready, crash-looping, never
// ready, or its image cannot be pulled; the kubelet's warning events come with it. A restart
// (`kubectl rollout restart`: the template's kubectl.kubernetes.io/restartedAt annotation) is a
// template change like any other; setRolloutReady(…, false) makes the pods of the next rollouts never
// become ready. Secrets are stored as the API server stores them (base64 `data`, write-only
// `stringData`), and pods may read them through env, envFrom and volumes. A pod template may have
// init containers: a new pod's start `running`, and the pod is Pending (not ready) until each has
// exited 0 (setInitContainer plays the kubelet); onScale lets a test act as the kubelet on a scale
// (the PITR tests bind the database deployment to a real test cluster). ConfigMaps answer get and
// merge patch of `data`.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeEvents, FieldSelectorError, type FakeEvent } from './fake-kube-events.js';
import { applyPatch, PatchError, type JsonValue } from './fake-kube-patch.js';
import { forbiddenStatus, loadDeployRbac, requestAttributes, type Rbac } from './fake-kube-rbac.js';
import { FakeVolumes, type FakeStorageClass, type FakeVolumeClaim, type FakeVolumeClaimView } from './fake-kube-volumes.js';

export type { FakeEvent } from './fake-kube-events.js';
export type { FakeStorageClass, FakeVolumeClaim, FakeVolumeClaimView } from './fake-kube-volumes.js';

export interface FakeContainer {
  name: string;
  /** Default `registry.example.com/NAME:1.0`. */
  image?: string;
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
  /** The pod template's containers as they are now. */
  containers: FakeContainer[];
  generation: number;
  /** The revision of the ReplicaSet of the current template (deployment.kubernetes.io/revision). */
  revision: number;
}

/** How a new pod of an image does: `ready`, or the three ways a rollout never becomes ready. */
export type PodBehaviour = 'ready' | 'crash-loop' | 'not-ready' | 'image-pull-error';

/** An init container's state, as the kubelet reports it in the pod's initContainerStatuses. */
export type FakeInitState = { running: true } | { terminated: number } | { waiting: string };

export interface FakeTermination {
  reason: string;
  exitCode: number;
  signal?: number;
  startedAt?: Date;
  finishedAt?: Date;
}

export interface FakePodPatch {
  phase?: string;
  ready?: boolean;
  restarts?: number;
  /** The container the restarts, waiting state and last termination are about (default: the first). */
  container?: string;
  /** lastState.terminated of that container (null: none; default after restarts: exit code 1, Error). */
  lastTermination?: FakeTermination | null;
  /** state.waiting of that container (CrashLoopBackOff…); null: none. */
  waiting?: { reason: string; message?: string } | null;
  createdAt?: Date;
  readyAt?: Date;
}

export interface FakeNodeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

export interface FakeService {
  namespace: string;
  name: string;
  selector: Record<string, string>;
  ports: { name?: string; port: number; targetPort?: number }[];
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
    /** Default RollingUpdate (25% surge and unavailable, as Kubernetes defaults). */
    strategy?: 'RollingUpdate' | 'Recreate';
    progressDeadlineSeconds?: number;
    /** Pod volumes, as in a pod spec: `[{ name: 'creds', secret: { secretName } }]`. */
    volumes?: Json[];
    /** Init containers of the pod template; a new pod's start `running` until setInitContainer says otherwise. */
    initContainers?: FakeContainer[];
  }): void;
  deployment(namespace: string, name: string): FakeDeploymentView | undefined;
  /** The names of a deployment's pods now. */
  podsOf(namespace: string, deployment: string): string[];
  /** What the kubelet reports of a pod's init container; a pod is Initialized (and may be ready) once all exited 0. */
  setInitContainer(namespace: string, podName: string, container: string, state: FakeInitState): void;
  /** Called after each change of the deployment's replicas (the API has already answered): what a kubelet would do about it. */
  onScale(namespace: string, name: string, listener: (replicas: number) => void): void;
  addConfigMap(namespace: string, name: string, data: Record<string, string>): void;
  configMap(namespace: string, name: string): Record<string, string> | undefined;
  /** The pod template's annotations (a restart sets kubectl.kubernetes.io/restartedAt) and its revision. */
  template(namespace: string, name: string): { annotations: Record<string, string>; revision: number } | undefined;
  /** Whether the pods of the next rollouts of this deployment become ready (default true): false = `not-ready`. */
  setRolloutReady(namespace: string, name: string, ready: boolean): void;
  /** A Secret with these plain values (stored base64, as the API does). */
  addSecret(namespace: string, name: string, values: Record<string, string>): void;
  /** The Secret's decoded values, or undefined when it does not exist. */
  secret(namespace: string, name: string): (Omit<FakeSecretView, 'data'> & { values: Record<string, string> }) | undefined;
  setPod(namespace: string, podName: string, patch: FakePodPatch): void;
  /** How pods created from now on with this image do (the image as the pod spec has it). */
  setImageBehaviour(image: string, behaviour: PodBehaviour): void;
  setLogs(namespace: string, podName: string, container: string, text: string): void;
  /** The log of the container's previous instance (before its last restart), served with `previous=true`. */
  setPreviousLogs(namespace: string, podName: string, container: string, text: string): void;
  setPodMetrics(namespace: string, podName: string, usage: Record<string, { cpu: string; memory: string }>): void;
  setNodes(
    nodes: { name: string; cpu: string; memory: string; allocatableCpu: string; allocatableMemory: string; conditions?: FakeNodeCondition[] }[],
  ): void;
  /** A Service whose Endpoints follow the ready and not-ready pods its selector matches. */
  addService(service: FakeService): void;
  addEvent(event: FakeEvent): string;
  addStorageClass(storageClass: FakeStorageClass): void;
  addVolumeClaim(claim: FakeVolumeClaim): void;
  volumeClaim(namespace: string, name: string): FakeVolumeClaimView | undefined;
  rolloutDelayMs: number;
  /** Pods requesting more memory than this (a quantity) stay Pending, unschedulable, as on a cluster without room. */
  schedulableMemory: string | null;
  /** How long the resize controller takes before the claim's capacity (or FileSystemResizePending) shows. */
  resizeDelayMs: number;
  hang(pathPrefix: string | null): void;
  /** Answers `status` to requests under the path (only those of `method`, when given); null clears all. */
  failWith(pathPrefix: string | null, status: number, method?: string): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

/** What makes a pod template: a change of any of it is a new ReplicaSet revision. */
interface PodTemplate {
  containers: FakeContainer[];
  initContainers: FakeContainer[];
  annotations: Record<string, string>;
  volumes: Json[];
}

interface ReplicaSet extends PodTemplate {
  hash: string;
  revision: number;
  created: string;
  /** Its pods never become ready (setRolloutReady false when it was rolled out). */
  neverReady: boolean;
}

interface Deployment {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  /** The pod template's containers, init containers, annotations and volumes. */
  containers: FakeContainer[];
  initContainers: FakeContainer[];
  templateAnnotations: Record<string, string>;
  volumes: Json[];
  /** Whether the pods of the next rollouts become ready (setRolloutReady). */
  newPodsReady: boolean;
  replicas: number;
  generation: number;
  observedGeneration: number;
  created: string;
  strategy: 'RollingUpdate' | 'Recreate';
  progressDeadlineSeconds: number;
  replicaSets: ReplicaSet[];
  current: ReplicaSet;
  /** When the current rollout began, for the progress deadline. */
  rolloutStarted: number;
  rollout?: NodeJS.Timeout;
}

interface Pod {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  owner: string;
  hash: string;
  containers: FakeContainer[];
  initContainers: FakeContainer[];
  initStates: Map<string, FakeInitState>;
  volumes: Json[];
  phase: string;
  ready: boolean;
  restarts: number;
  target: string;
  waiting: { reason: string; message?: string } | null;
  lastTermination: FakeTermination | null;
  createdAt: Date;
  readyAt: Date | null;
  nodeName: string;
  ip: string;
  /** The scheduler's reason when no node has room for it. */
  unschedulable: string | null;
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
  conditions?: FakeNodeCondition[];
}

// Every fake pod of a deployment's first template belongs to this ReplicaSet hash, so pod names are predictable.
const TEMPLATE_HASH = '7d9f8b';
const HASH_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
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

/** A container as a pod spec (and a deployment's template) has it. */
function containerJson(c: FakeContainer): Json {
  const container: Json = { name: c.name, image: imageOf(c), resources: resources(c) };
  if (c.env !== undefined) container.env = c.env;
  if (c.envFrom !== undefined) container.envFrom = c.envFrom;
  return container;
}

function resources(c: FakeContainer): Json {
  const r: Json = {};
  if (c.requests !== undefined) r.requests = c.requests;
  if (c.limits !== undefined) r.limits = c.limits;
  return r;
}

/**
 * Lines may carry their own RFC3339 timestamp (used for sinceSeconds and timestamps=true); lines
 * without one are stamped with the time of this call.
 */
function logLines(text: string): LogLine[] {
  const now = new Date();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => {
    const m = RFC3339_PREFIX.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined && !Number.isNaN(Date.parse(m[1]))) return { time: new Date(m[1]), stamp: m[1], text: m[2] };
    return { time: now, stamp: now.toISOString(), text: line };
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}


function imageOf(c: FakeContainer): string {
  return c.image ?? `registry.example.com/${c.name}:1.0`;
}

/** The image as the container runtime names it: `postgres:15.4` is docker.io/library/postgres:15.4. */
function runtimeImage(image: string): string {
  const [first = '', ...rest] = image.split('/');
  if (rest.length > 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) return image;
  return rest.length === 0 ? `docker.io/library/${image}` : `docker.io/${image}`;
}

function repositoryOf(reference: string): string {
  const name = reference.split('@')[0] ?? reference;
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? name.slice(0, colon) : name;
}

/** containerStatuses[].imageID: the repository and the digest pulled (the one asked for, else one made up from the name). */
function imageIdOf(image: string): string {
  const full = runtimeImage(image);
  const digest = full.includes('@') ? full.slice(full.indexOf('@') + 1) : `sha256:${createHash('sha256').update(image).digest('hex')}`;
  return `${repositoryOf(full)}@${digest}`;
}

/** The template's identity: the containers as the pod spec has them (default image included), annotations, volumes. */
function templateKey(t: PodTemplate): string {
  const containers = t.containers.map((c) => [c.name, imageOf(c), c.requests ?? null, c.limits ?? null, c.env ?? null, c.envFrom ?? null]);
  const annotations = Object.entries(t.annotations).sort(([a], [b]) => a.localeCompare(b));
  // Init containers only when there are some: the templates without keep the identity they had.
  const init = t.initContainers.map((c) => [c.name, imageOf(c), c.env ?? null, c.envFrom ?? null]);
  return JSON.stringify(init.length > 0 ? [containers, annotations, t.volumes, init] : [containers, annotations, t.volumes]);
}

function templateHash(t: PodTemplate): string {
  const bytes = createHash('sha256').update(templateKey(t)).digest();
  return [...bytes.subarray(0, 10)].map((b) => HASH_ALPHABET[b % HASH_ALPHABET.length]).join('');
}

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const UNIT: Record<string, number> = { m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/** A resource quantity's value, as resource.Quantity parses it; NaN when the API server would refuse it. */
function quantityValue(text: unknown): number {
  if (typeof text === 'number') return text;
  const match = typeof text === 'string' ? QUANTITY.exec(text) : null;
  return match === null ? NaN : Number(match[1]) * (UNIT[match[2] ?? ''] ?? NaN);
}

const seconds = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');

const DEFAULT_NODE_CONDITIONS: FakeNodeCondition[] = [
  { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
  { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
  { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
  { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
];

export async function startFakeKube(options: FakeKubeOptions = {}): Promise<FakeKube> {
  const rbac: Rbac | null = options.rbac === 'none' ? null : loadDeployRbac({ extraFiles: options.extraRbacFiles });
  const deployments = new Map<string, Deployment>();
  const pods = new Map<string, Pod>();
  const logs = new Map<string, LogLine[]>();
  const previousLogs = new Map<string, LogLine[]>();
  const podMetrics = new Map<string, Record<string, { cpu: string; memory: string }>>();
  const imageBehaviour = new Map<string, PodBehaviour>();
  const services = new Map<string, FakeService>();
  const secrets = new Map<string, Secret>();
  const configMaps = new Map<string, { data: Record<string, string>; uid: string; created: string }>();
  const scaleListeners = new Map<string, ((replicas: number) => void)[]>();
  let nodes: FakeNode[] = [];
  const requests: FakeRequest[] = [];
  const forbidden: FakeRequest[] = [];
  const hangs = new Set<string>();
  const failures = new Map<string, { status: number; method?: string }>();
  const hung = new Set<ServerResponse>();
  let resourceVersion = 1000;
  let podCount = 0;

  const key = (namespace: string, name: string): string => `${namespace}/${name}`;
  const nextRv = (): string => String(++resourceVersion);
  const events = new FakeEvents(nextRv);
  const volumes = new FakeVolumes(nextRv, (event) => void events.add(event));

  function podsOf(d: Deployment): Pod[] {
    return [...pods.values()].filter((p) => p.owner === key(d.namespace, d.name));
  }

  /** Every init container exited 0: the pod's containers may start (its Initialized condition). */
  const isCompleted = (state: FakeInitState | undefined): boolean => state !== undefined && 'terminated' in state && state.terminated === 0;
  const initialized = (p: Pod): boolean => [...p.initStates.values()].every(isCompleted);
  const isReady = (p: Pod): boolean => p.phase === 'Running' && p.ready && initialized(p);

  function createPod(d: Deployment, rs: ReplicaSet, index: number): void {
    let name: string;
    do name = `${d.name}-${rs.hash}-${suffix()}`;
    while (pods.has(key(d.namespace, name)));
    const now = new Date();
    const nodeName = nodes.length > 0 ? (nodes[index % nodes.length]?.name ?? 'fake-node-1') : 'fake-node-1';
    const pod: Pod = {
      namespace: d.namespace,
      name,
      uid: randomUUID(),
      labels: { ...d.labels, 'pod-template-hash': rs.hash },
      owner: key(d.namespace, d.name),
      hash: rs.hash,
      containers: rs.containers,
      initContainers: rs.initContainers,
      initStates: new Map(rs.initContainers.map((c): [string, FakeInitState] => [c.name, { running: true }])),
      volumes: rs.volumes,
      phase: 'Running',
      ready: true,
      restarts: 0,
      target: rs.containers[0]?.name ?? '',
      waiting: null,
      lastTermination: null,
      createdAt: now,
      readyAt: now,
      nodeName,
      ip: `10.244.${Math.floor(++podCount / 250)}.${(podCount % 250) + 2}`,
      unschedulable: null,
    };
    pods.set(key(d.namespace, name), pod);
    const requested = rs.containers.reduce((sum, c) => sum + (quantityValue(c.requests?.memory ?? '0') || 0), 0);
    if (fake.schedulableMemory !== null && requested > quantityValue(fake.schedulableMemory)) {
      const count = Math.max(1, nodes.length);
      pod.unschedulable = `0/${count} nodes are available: ${count} Insufficient memory. preemption: 0/${count} nodes are available: ${count} No preemption victims found for incoming pod.`;
      pod.phase = 'Pending';
      pod.ready = false;
      pod.readyAt = null;
      // The scheduler writes through events.k8s.io.
      events.add({ namespace: d.namespace, involvedObject: { kind: 'Pod', name, uid: pod.uid }, type: 'Warning', reason: 'FailedScheduling', message: pod.unschedulable, count: 2, api: 'events.k8s.io' });
      return;
    }
    const troubled = rs.containers.find((c) => (imageBehaviour.get(imageOf(c)) ?? 'ready') !== 'ready');
    if (troubled !== undefined) misbehave(pod, troubled, imageBehaviour.get(imageOf(troubled)) ?? 'ready');
    else if (rs.neverReady && rs.containers[0] !== undefined) misbehave(pod, rs.containers[0], 'not-ready');
    volumes.podStarted(d.namespace);
  }

  /** The kubelet's view of a pod whose container does not come up, with the warning events it records. */
  function misbehave(pod: Pod, container: FakeContainer, behaviour: PodBehaviour): void {
    const image = imageOf(container);
    const podRef = { kind: 'Pod', name: pod.name, uid: pod.uid, fieldPath: `spec.containers{${container.name}}` };
    const warn = (reason: string, message: string, count: number): void =>
      void events.add({ namespace: pod.namespace, involvedObject: podRef, type: 'Warning', reason, message, count, host: pod.nodeName });
    pod.ready = false;
    pod.readyAt = null;
    pod.target = container.name;
    if (behaviour === 'crash-loop') {
      pod.restarts = 3;
      pod.waiting = { reason: 'CrashLoopBackOff', message: `back-off 40s restarting failed container=${container.name} pod=${pod.name}_${pod.namespace}(${pod.uid})` };
      pod.lastTermination = { reason: 'Error', exitCode: 1, startedAt: new Date(), finishedAt: new Date() };
      warn('BackOff', `Back-off restarting failed container ${container.name} in pod ${pod.name}_${pod.namespace}(${pod.uid})`, 3);
    } else if (behaviour === 'not-ready') {
      warn('Unhealthy', 'Readiness probe failed: /var/run/postgresql:5432 - no response', 5);
    } else if (behaviour === 'image-pull-error') {
      pod.phase = 'Pending';
      pod.waiting = { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` };
      warn('Failed', `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${runtimeImage(image)}": not found`, 2);
      warn('Failed', 'Error: ImagePullBackOff', 2);
    }
  }

  function deletePod(p: Pod): void {
    pods.delete(key(p.namespace, p.name));
    podMetrics.delete(key(p.namespace, p.name));
  }

  /**
   * The deployment and ReplicaSet controllers' work: the current ReplicaSet gets spec.replicas pods,
   * the old ones none — Recreate removes the old pods first, RollingUpdate only once the new ones
   * are ready (so a rollout that never becomes ready leaves the old pod serving).
   */
  function syncPods(d: Deployment): void {
    nextRv();
    d.observedGeneration = d.generation;
    const owned = podsOf(d);
    const current = owned.filter((p) => p.hash === d.current.hash);
    const old = owned.filter((p) => p.hash !== d.current.hash);
    if (d.strategy === 'Recreate') for (const p of old) deletePod(p);
    for (let i = current.length; i < d.replicas; i++) createPod(d, d.current, i);
    // Scale down removes the newest pods first, as the ReplicaSet controller prefers.
    for (const p of current.slice(d.replicas).reverse()) deletePod(p);
    if (d.strategy === 'RollingUpdate') {
      const updated = podsOf(d).filter((p) => p.hash === d.current.hash);
      if (updated.length >= d.replicas && updated.every(isReady)) for (const p of old) deletePod(p);
    }
  }

  function scheduleSync(d: Deployment): void {
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

  function counts(d: Deployment): FakeDeploymentView['status'] {
    const owned = podsOf(d);
    const ready = owned.filter(isReady).length;
    const updated = owned.filter((p) => p.hash === d.current.hash).length;
    return { replicas: owned.length, readyReplicas: ready, updatedReplicas: updated, availableReplicas: ready };
  }

  function checkReplicas(d: Deployment, replicas: unknown): asserts replicas is number {
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw new HttpError(422, `Scale.autoscaling "${d.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
    }
  }

  function setReplicas(d: Deployment, replicas: unknown): void {
    checkReplicas(d, replicas);
    if (replicas === d.replicas) return;
    d.replicas = replicas;
    d.generation += 1;
    nextRv();
    scheduleSync(d);
    for (const listener of scaleListeners.get(key(d.namespace, d.name)) ?? []) setImmediate(() => listener(replicas));
  }

  const templateOf = (d: Deployment): PodTemplate => ({ containers: d.containers, initContainers: d.initContainers, annotations: d.templateAnnotations, volumes: d.volumes });

  /**
   * A new pod template (containers, annotations such as a restart's, volumes): a new ReplicaSet
   * revision, or an old one taken back when its template is the same. Its pods never become ready
   * when setRolloutReady(…, false) was said before this rollout.
   */
  function setTemplate(d: Deployment, template: PodTemplate): void {
    const wanted = templateKey(template);
    if (wanted === templateKey(templateOf(d))) return;
    d.containers = template.containers;
    d.initContainers = template.initContainers;
    d.templateAnnotations = template.annotations;
    d.volumes = template.volumes;
    d.generation += 1;
    const revision = Math.max(...d.replicaSets.map((rs) => rs.revision)) + 1;
    const same = d.replicaSets.find((rs) => templateKey(rs) === wanted);
    if (same !== undefined) {
      same.revision = revision;
      same.neverReady = !d.newPodsReady;
      d.current = same;
    } else {
      d.current = { hash: templateHash(template), revision, ...template, created: seconds(new Date()), neverReady: !d.newPodsReady };
      d.replicaSets.push(d.current);
    }
    d.rolloutStarted = Date.now();
    events.add({
      namespace: d.namespace,
      involvedObject: { kind: 'Deployment', name: d.name, uid: d.uid },
      type: 'Normal',
      reason: 'ScalingReplicaSet',
      message: `Scaled up replica set ${d.name}-${d.current.hash} from 0 to ${d.replicas}`,
    });
    nextRv();
    scheduleSync(d);
  }

  function templateJson(d: Deployment): Json {
    const metadata: Json = { labels: d.labels };
    if (Object.keys(d.templateAnnotations).length > 0) metadata.annotations = { ...d.templateAnnotations };
    const spec: Json = {
      containers: d.containers.map((ct) => ({ ...containerJson(ct), terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' })),
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
    };
    if (d.initContainers.length > 0) spec.initContainers = d.initContainers.map((ct) => ({ ...containerJson(ct), terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' }));
    if (d.volumes.length > 0) spec.volumes = d.volumes;
    return { metadata, spec };
  }

  function deploymentJson(d: Deployment, withKind: boolean): Json {
    const c = counts(d);
    const complete = c.updatedReplicas === d.replicas && c.availableReplicas === d.replicas && c.replicas === d.replicas;
    const timedOut = !complete && Date.now() - d.rolloutStarted > d.progressDeadlineSeconds * 1000;
    const rsName = `${d.name}-${d.current.hash}`;
    const progressing = complete
      ? { status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` }
      : timedOut
        ? { status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` }
        : { status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` };
    const obj: Json = {
      metadata: {
        name: d.name,
        namespace: d.namespace,
        uid: d.uid,
        resourceVersion: String(resourceVersion),
        generation: d.generation,
        creationTimestamp: d.created,
        labels: d.labels,
        annotations: { 'deployment.kubernetes.io/revision': String(d.current.revision) },
      },
      spec: {
        replicas: d.replicas,
        selector: { matchLabels: d.labels },
        template: templateJson(d),
        strategy: d.strategy === 'Recreate' ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: d.progressDeadlineSeconds,
      },
      status: {
        observedGeneration: d.observedGeneration,
        ...omitZero({ ...c, unavailableReplicas: Math.max(0, d.replicas - c.availableReplicas) }),
        conditions: [
          {
            type: 'Available',
            status: c.availableReplicas >= d.replicas ? 'True' : 'False',
            reason: c.availableReplicas >= d.replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
            message: c.availableReplicas >= d.replicas ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
            lastUpdateTime: d.created,
            lastTransitionTime: d.created,
          },
          { type: 'Progressing', ...progressing, lastUpdateTime: seconds(new Date()), lastTransitionTime: seconds(new Date(d.rolloutStarted)) },
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
    // Its containers start once every init container has exited 0; until then the pod is Pending.
    const init = initialized(p);
    const phase = init ? p.phase : 'Pending';
    const running = phase === 'Running';
    const ready = running && p.ready;
    const created = seconds(p.createdAt);
    const cond = (type: string, ok: boolean, at: string): Json => {
      const c: Json = { type, status: ok ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: at };
      if (!ok && type === 'Initialized') {
        c.reason = 'ContainersNotInitialized';
        c.message = `containers with incomplete status: [${p.initContainers.filter((ic) => !isCompleted(p.initStates.get(ic.name))).map((ic) => ic.name).join(' ')}]`;
      } else if (!ok) {
        c.reason = 'ContainersNotReady';
        c.message = `containers with unready status: [${p.target}]`;
      }
      return c;
    };
    const readyAt = ready && p.readyAt !== null ? seconds(p.readyAt) : created;
    const obj: Json = {
      metadata: {
        name: p.name,
        generateName: `${p.name.slice(0, -5)}`,
        namespace: p.namespace,
        uid: p.uid,
        resourceVersion: String(resourceVersion),
        creationTimestamp: created,
        labels: p.labels,
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${p.owner.split('/')[1] ?? ''}-${p.hash}`, uid: randomUUID(), controller: true, blockOwnerDeletion: true },
        ],
      },
      spec: {
        ...(p.initContainers.length > 0 ? { initContainers: p.initContainers.map(containerJson) } : {}),
        containers: p.containers.map(containerJson),
        ...(p.volumes.length > 0 ? { volumes: p.volumes } : {}),
        ...(p.unschedulable === null ? { nodeName: p.nodeName } : {}),
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 30,
      },
      status: p.unschedulable !== null ? {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: p.unschedulable, lastProbeTime: null, lastTransitionTime: created }],
        qosClass: 'Burstable',
      } : {
        phase,
        conditions: [cond('Initialized', init, created), cond('Ready', ready, readyAt), cond('ContainersReady', ready, readyAt), cond('PodScheduled', true, created)],
        hostIP: '10.0.0.10',
        podIP: p.ip,
        startTime: created,
        ...(p.initContainers.length > 0 ? { initContainerStatuses: p.initContainers.map((c, i) => initStatusJson(p, c, i)) } : {}),
        // Restarts, waiting and termination are reported on the target container; the others run.
        containerStatuses: p.containers.map((c, i) => {
          const target = c.name === p.target;
          const restartCount = target ? p.restarts : 0;
          const status: Json = {
            name: c.name,
            ready,
            started: running && !(target && p.waiting !== null),
            restartCount,
            image: runtimeImage(imageOf(c)),
            imageID: p.phase === 'Pending' && target ? '' : imageIdOf(imageOf(c)),
            containerID: `containerd://${p.uid.replace(/-/g, '')}${i}`,
            state:
              target && p.waiting !== null
                ? { waiting: p.waiting }
                : running
                  ? { running: { startedAt: created } }
                  : { waiting: { reason: !init ? 'PodInitializing' : p.phase === 'Pending' ? 'ContainerCreating' : 'CrashLoopBackOff' } },
          };
          const last = target ? p.lastTermination : null;
          if (last !== null) {
            const terminated: Json = {
              exitCode: last.exitCode,
              reason: last.reason,
              startedAt: seconds(last.startedAt ?? p.createdAt),
              finishedAt: seconds(last.finishedAt ?? p.createdAt),
              containerID: `containerd://${p.uid.replace(/-/g, '')}${i}prev`,
            };
            if (last.signal !== undefined) terminated.signal = last.signal;
            status.lastState = { terminated };
          } else if (restartCount > 0) {
            status.lastState = { terminated: { exitCode: 1, reason: 'Error', startedAt: created, finishedAt: created } };
          } else {
            status.lastState = {};
          }
          return status;
        }),
      },
    };
    return withKind ? { kind: 'Pod', apiVersion: 'v1', ...obj } : obj;
  }

  function initStatusJson(p: Pod, c: FakeContainer, i: number): Json {
    const state = p.initStates.get(c.name) ?? { running: true };
    const created = seconds(p.createdAt);
    const base: Json = { name: c.name, image: runtimeImage(imageOf(c)), imageID: imageIdOf(imageOf(c)), containerID: `containerd://${p.uid.replace(/-/g, '')}init${i}`, restartCount: 0 };
    if ('terminated' in state) {
      const reason = state.terminated === 0 ? 'Completed' : 'Error';
      return { ...base, ready: state.terminated === 0, started: false, state: { terminated: { exitCode: state.terminated, reason, startedAt: created, finishedAt: seconds(new Date()) } } };
    }
    if ('waiting' in state) return { ...base, imageID: '', containerID: undefined, ready: false, started: false, state: { waiting: { reason: state.waiting } } };
    return { ...base, ready: false, started: true, state: { running: { startedAt: created } } };
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
      created: seconds(new Date()),
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

  /**
   * PATCH of a deployment: any of the three formats, validated as the API server validates the
   * result; a dry run (`dryRun=All`) answers the patched object and changes nothing.
   */
  function patchDeployment(d: Deployment, contentType: string, body: unknown, dryRun: boolean): Json {
    const patched = applyPatch(deploymentJson(d, true) as JsonValue, contentType, body) as Json;
    const spec = isRecord(patched.spec) ? patched.spec : {};
    const templateMeta = isRecord(spec.template) && isRecord(spec.template.metadata) ? spec.template.metadata : {};
    const template = isRecord(spec.template) && isRecord(spec.template.spec) ? spec.template.spec : {};
    const raw = Array.isArray(template.containers) ? template.containers : [];
    const invalid = (field: string, detail: string): HttpError => new HttpError(422, `Deployment.apps "${d.name}" is invalid: ${field}: ${detail}`);
    if (raw.length === 0) throw invalid('spec.template.spec.containers', 'Required value');
    const rawAnnotations = templateMeta.annotations ?? {};
    if (!isRecord(rawAnnotations)) throw new HttpError(400, 'spec.template.metadata.annotations must be an object');
    const annotations: Record<string, string> = {};
    for (const [name, value] of Object.entries(rawAnnotations)) {
      if (typeof value !== 'string') throw invalid('spec.template.metadata.annotations', 'Invalid value: annotation values must be strings');
      annotations[name] = value;
    }
    const volumes = Array.isArray(template.volumes) ? template.volumes.filter(isRecord) : [];
    const rawInit = Array.isArray(template.initContainers) ? template.initContainers : [];
    const initContainers = rawInit.map((entry, i): FakeContainer => {
      const c = isRecord(entry) ? entry : {};
      const at = `spec.template.spec.initContainers[${i}]`;
      if (typeof c.name !== 'string' || c.name === '') throw invalid(`${at}.name`, 'Required value');
      if (typeof c.image !== 'string' || c.image.trim() === '') throw invalid(`${at}.image`, 'Required value');
      const container: FakeContainer = { name: c.name, image: c.image };
      if (Array.isArray(c.env)) container.env = c.env.filter(isRecord);
      if (Array.isArray(c.envFrom)) container.envFrom = c.envFrom.filter(isRecord);
      return container;
    });
    const containers = raw.map((entry, i): FakeContainer => {
      const c = isRecord(entry) ? entry : {};
      const at = `spec.template.spec.containers[${i}]`;
      if (typeof c.name !== 'string' || c.name === '') throw invalid(`${at}.name`, 'Required value');
      if (typeof c.image !== 'string' || c.image.trim() === '') throw invalid(`${at}.image`, 'Required value');
      const res = isRecord(c.resources) ? c.resources : {};
      const container: FakeContainer = { name: c.name, image: c.image };
      if (Array.isArray(c.env)) container.env = c.env.filter(isRecord);
      if (Array.isArray(c.envFrom)) container.envFrom = c.envFrom.filter(isRecord);
      for (const part of ['requests', 'limits'] as const) {
        const values = res[part];
        if (!isRecord(values)) continue;
        const kept: { cpu?: string; memory?: string } = {};
        for (const resource of ['cpu', 'memory'] as const) {
          const value = values[resource];
          if (value === undefined) continue;
          if (Number.isNaN(quantityValue(value))) {
            throw new HttpError(400, `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
          }
          kept[resource] = String(value);
        }
        if (Object.keys(kept).length > 0) container[part] = kept;
      }
      for (const resource of ['cpu', 'memory'] as const) {
        const request = container.requests?.[resource];
        const limit = container.limits?.[resource];
        if (request !== undefined && limit !== undefined && quantityValue(request) > quantityValue(limit)) {
          throw invalid(`${at}.resources.requests`, `Invalid value: "${request}": must be less than or equal to ${resource} limit of ${limit}`);
        }
      }
      return container;
    });
    if (dryRun) {
      if ('replicas' in spec) checkReplicas(d, spec.replicas);
      return patched;
    }
    if ('replicas' in spec) setReplicas(d, spec.replicas);
    setTemplate(d, { containers, initContainers, annotations, volumes });
    return deploymentJson(d, true);
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

  function nodeJson(n: FakeNode, withKind = false): Json {
    const allocatable = { cpu: n.allocatableCpu, memory: n.allocatableMemory, pods: '110' };
    const obj: Json = {
      metadata: { name: n.name, uid: randomUUID(), labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' }, creationTimestamp: '2024-01-01T00:00:00Z' },
      spec: {},
      status: {
        // The fake does not model system reservations: capacity equals allocatable.
        capacity: allocatable,
        allocatable,
        conditions: (n.conditions ?? DEFAULT_NODE_CONDITIONS).map((c) => ({
          ...c,
          lastHeartbeatTime: seconds(new Date()),
          lastTransitionTime: '2024-01-01T00:00:00Z',
        })),
        nodeInfo: { kubeletVersion: 'v1.30.0', osImage: 'Fake Linux', architecture: 'amd64', operatingSystem: 'linux' },
      },
    };
    return withKind ? { kind: 'Node', apiVersion: 'v1', ...obj } : obj;
  }

  /** The endpoints controller's work: ready pods matching the Service's selector are addresses, the others notReadyAddresses. */
  function endpointsJson(s: FakeService): Json {
    const matched = [...pods.values()].filter((p) => p.namespace === s.namespace && p.phase === 'Running' && matchesSelector(p.labels, selectorString(s.selector)));
    const address = (p: Pod): Json => ({ ip: p.ip, nodeName: p.nodeName, targetRef: { kind: 'Pod', namespace: p.namespace, name: p.name, uid: p.uid } });
    const ready = matched.filter(isReady).map(address);
    const notReady = matched.filter((p) => !isReady(p)).map(address);
    const json: Json = {
      kind: 'Endpoints',
      apiVersion: 'v1',
      metadata: { name: s.name, namespace: s.namespace, resourceVersion: String(resourceVersion), creationTimestamp: '2024-01-01T00:00:00Z', labels: { app: s.name } },
    };
    // With no pod at all the controller writes no subsets (omitempty).
    if (matched.length > 0) {
      const subset: Json = { ports: s.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.targetPort ?? p.port, protocol: 'TCP' })) };
      if (ready.length > 0) subset.addresses = ready;
      if (notReady.length > 0) subset.notReadyAddresses = notReady;
      json.subsets = [subset];
    }
    return json;
  }
  /**
   * The EndpointSlice controller's work, one IPv4 slice per Service (generated name, labelled
   * kubernetes.io/service-name): every matching running pod is an endpoint, its readiness a condition.
   */
  function endpointSliceJson(s: FakeService): Json {
    const matched = [...pods.values()].filter((p) => p.namespace === s.namespace && p.phase === 'Running' && matchesSelector(p.labels, selectorString(s.selector)));
    return {
      kind: 'EndpointSlice',
      apiVersion: 'discovery.k8s.io/v1',
      metadata: {
        name: `${s.name}-x7k2p`,
        namespace: s.namespace,
        generateName: `${s.name}-`,
        resourceVersion: String(resourceVersion),
        creationTimestamp: '2024-01-01T00:00:00Z',
        labels: { 'kubernetes.io/service-name': s.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      },
      addressType: 'IPv4',
      // Unlike Endpoints, a slice with no endpoint is still there, with null endpoints (omitempty on the wire).
      ...(matched.length > 0
        ? {
            endpoints: matched.map((p) => ({
              addresses: [p.ip],
              conditions: { ready: isReady(p), serving: isReady(p), terminating: false },
              nodeName: p.nodeName,
              targetRef: { kind: 'Pod', namespace: p.namespace, name: p.name, uid: p.uid },
            })),
          }
        : {}),
      ports: s.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.targetPort ?? p.port, protocol: 'TCP' })),
    };
  }
  function readLogs(ns: string, podName: string, query: Record<string, string>): string {
    const p = getPod(ns, podName);
    const names = [...p.containers, ...p.initContainers].map((c) => c.name);
    let container = query.container;
    if (container === undefined || container === '') {
      if (names.length !== 1) throw new HttpError(400, `a container name must be specified for pod ${podName}, choose one of: [${names.join(' ')}]`);
      container = names[0] ?? '';
    }
    if (!names.includes(container)) throw new HttpError(400, `container ${container} is not valid for pod ${podName}`);
    let lines: LogLine[];
    if (query.previous === 'true') {
      // What the kubelet answers for a container that never restarted (`kubectl logs --previous`).
      const previous = previousLogs.get(`${key(ns, podName)}/${container}`);
      if (previous === undefined) throw new HttpError(400, `previous terminated container "${container}" in pod "${podName}" not found`);
      lines = previous;
    } else {
      lines = logs.get(`${key(ns, podName)}/${container}`) ?? [];
    }
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


  /** Routes one request; returns JSON or text, or throws an HttpError. */
  function route(method: string, path: string, query: Record<string, string>, contentType: string, body: unknown): Json | string {
    try {
      return routeRequest(method, path, query, contentType, body);
    } catch (err) {
      if (err instanceof PatchError) throw new HttpError(err.code, err.message);
      if (err instanceof FieldSelectorError) throw new HttpError(400, err.message);
      throw err;
    }
  }

  function routeRequest(method: string, path: string, query: Record<string, string>, contentType: string, body: unknown): Json | string {
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
      return patchDeployment(getDeployment(at(4), at(6)), contentType, body, query.dryRun === 'All');
    }
    if (is('apis', 'apps', 'v1', 'namespaces', null, 'deployments', null, 'scale')) {
      const d = getDeployment(at(4), at(6));
      if (method === 'PUT' || method === 'PATCH') applyScaleBody(d, method, contentType, body);
      else if (!get) throw new HttpError(405, `the server does not allow this method on the requested resource`);
      return scaleJson(d);
    }
    // core/v1 configmaps (get, and merge patch of `data`)
    if (is('api', 'v1', 'namespaces', null, 'configmaps', null)) {
      const map = configMaps.get(key(at(3), at(5)));
      if (map === undefined) throw notFound('configmaps', '', at(5));
      if (method === 'PATCH') {
        if (contentType !== 'application/merge-patch+json' && contentType !== 'application/strategic-merge-patch+json') throw new HttpError(415, 'the body of the request was in an unknown format');
        if (!isRecord(body)) throw new HttpError(400, 'the patch body must be a JSON object');
        if (isRecord(body.data)) {
          for (const [k, v] of Object.entries(body.data)) {
            if (v === null) delete map.data[k];
            else if (typeof v === 'string') map.data[k] = v;
            else throw new HttpError(422, `ConfigMap "${at(5)}" is invalid: data[${k}]: must be a string`);
          }
        }
        nextRv();
      } else if (!get) throw new HttpError(405, 'the server does not allow this method on the requested resource');
      return { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: at(5), namespace: at(3), uid: map.uid, resourceVersion: String(resourceVersion), creationTimestamp: map.created }, data: { ...map.data } };
    }
    // core/v1 pods and nodes
    if (get && (is('api', 'v1', 'namespaces', null, 'pods') || is('api', 'v1', 'pods'))) {
      const ns = seg.length === 5 ? at(3) : undefined;
      const items = [...pods.values()].filter((p) => (ns === undefined || p.namespace === ns) && matchesSelector(p.labels, query.labelSelector));
      return list('PodList', 'v1', items.map((p) => podJson(p, false)));
    }
    if (get && is('api', 'v1', 'namespaces', null, 'pods', null)) return podJson(getPod(at(3), at(5)), true);
    if (get && is('api', 'v1', 'namespaces', null, 'pods', null, 'log')) return readLogs(at(3), at(5), query);
    if (get && is('api', 'v1', 'nodes')) return list('NodeList', 'v1', nodes.map((n) => nodeJson(n)));
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
    if (get && is('api', 'v1', 'nodes', null)) {
      const node = nodes.find((n) => n.name === at(3));
      if (node === undefined) throw notFound('nodes', '', at(3));
      return nodeJson(node, true);
    }
    // core/v1 events, endpoints, volume claims; storage.k8s.io storage classes
    if (get && (is('api', 'v1', 'namespaces', null, 'events') || is('api', 'v1', 'events'))) {
      return list('EventList', 'v1', events.list(seg.length === 5 ? at(3) : undefined, query.fieldSelector));
    }
    if (get && is('api', 'v1', 'namespaces', null, 'endpoints', null)) {
      const service = services.get(key(at(3), at(5)));
      if (service === undefined) throw notFound('endpoints', '', at(5));
      return endpointsJson(service);
    }
    if (get && is('apis', 'discovery.k8s.io', 'v1', 'namespaces', null, 'endpointslices')) {
      const slices = [...services.values()].filter((x) => x.namespace === at(4)).map(endpointSliceJson);
      return list('EndpointSliceList', 'discovery.k8s.io/v1', slices.filter((x) => matchesSelector((x.metadata as { labels: Record<string, string> }).labels, query.labelSelector)));
    }
    if (is('api', 'v1', 'namespaces', null, 'persistentvolumeclaims', null) && (get || method === 'PATCH')) {
      const claim = get ? volumes.claimJson(at(3), at(5)) : volumes.patchClaim(at(3), at(5), contentType, body);
      if (claim === undefined) throw notFound('persistentvolumeclaims', '', at(5));
      return claim;
    }
    if (get && is('apis', 'storage.k8s.io', 'v1', 'storageclasses')) return list('StorageClassList', 'storage.k8s.io/v1', volumes.storageClassesJson());
    if (get && is('apis', 'storage.k8s.io', 'v1', 'storageclasses', null)) {
      const storageClass = volumes.storageClassJson(at(4));
      if (storageClass === undefined) throw notFound('storageclasses', 'storage.k8s.io', at(4));
      return storageClass;
    }
    // authorization.k8s.io: what the asking account may do, by the same RBAC that guards the requests
    if (method === 'POST' && is('apis', 'authorization.k8s.io', 'v1', 'selfsubjectaccessreviews')) {
      const spec = isRecord(body) && isRecord(body.spec) ? body.spec : {};
      const ra = isRecord(spec.resourceAttributes) ? spec.resourceAttributes : null;
      if (ra === null) throw new HttpError(422, 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Required value');
      const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
      const request = { verb: text(ra.verb) ?? '', apiGroup: text(ra.group) ?? '', resource: text(ra.resource) ?? '', subresource: text(ra.subresource), namespace: text(ra.namespace), name: text(ra.name) };
      const allowed = rbac === null || rbac.authorize(request);
      return { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status: { allowed } };
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
    schedulableMemory: null,
    get resizeDelayMs() {
      return volumes.resizeDelayMs;
    },
    set resizeDelayMs(ms: number) {
      volumes.resizeDelayMs = ms;
    },

    addDeployment({ namespace, name, replicas, labels = { app: name }, containers = [{ name }], strategy = 'RollingUpdate', progressDeadlineSeconds = 600, volumes = [], initContainers = [] }) {
      const created = seconds(new Date());
      const first: ReplicaSet = { hash: TEMPLATE_HASH, revision: 1, containers, initContainers, annotations: {}, volumes, created, neverReady: false };
      const d: Deployment = {
        namespace,
        name,
        uid: randomUUID(),
        labels,
        containers,
        initContainers,
        templateAnnotations: {},
        volumes,
        newPodsReady: true,
        replicas,
        generation: 1,
        observedGeneration: 1,
        created,
        strategy,
        progressDeadlineSeconds,
        replicaSets: [first],
        current: first,
        rolloutStarted: Date.now(),
      };
      deployments.set(key(namespace, name), d);
      syncPods(d);
    },

    deployment(namespace, name) {
      const d = deployments.get(key(namespace, name));
      return d === undefined
        ? undefined
        : { spec: { replicas: d.replicas }, status: counts(d), containers: structuredClone(d.containers), generation: d.generation, revision: d.current.revision };
    },

    template(namespace, name) {
      const d = deployments.get(key(namespace, name));
      return d === undefined ? undefined : { annotations: { ...d.templateAnnotations }, revision: d.current.revision };
    },

    podsOf(namespace, deployment) {
      return [...pods.values()].filter((p) => p.owner === key(namespace, deployment)).map((p) => p.name);
    },

    setInitContainer(namespace, podName, container, state) {
      const p = pods.get(key(namespace, podName));
      if (p === undefined) throw new Error(`fake kube: no pod ${namespace}/${podName}`);
      if (!p.initContainers.some((c) => c.name === container)) throw new Error(`fake kube: pod ${podName} has no init container ${container}`);
      p.initStates.set(container, state);
      nextRv();
      // A pod that finished initializing may let a rolling update go on.
      const owner = deployments.get(p.owner);
      if (owner !== undefined && owner.rollout === undefined) syncPods(owner);
    },

    onScale(namespace, name, listener) {
      const k = key(namespace, name);
      scaleListeners.set(k, [...(scaleListeners.get(k) ?? []), listener]);
    },

    addConfigMap(namespace, name, data) {
      configMaps.set(key(namespace, name), { data: { ...data }, uid: randomUUID(), created: seconds(new Date()) });
    },

    configMap(namespace, name) {
      const map = configMaps.get(key(namespace, name));
      return map === undefined ? undefined : { ...map.data };
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
        created: seconds(new Date()),
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
      if (patch.container !== undefined) {
        if (!p.containers.some((c) => c.name === patch.container)) throw new Error(`fake kube: pod ${podName} has no container ${patch.container}`);
        p.target = patch.container;
      }
      if (patch.phase !== undefined) p.phase = patch.phase;
      if (patch.ready !== undefined) {
        if (patch.ready && !p.ready) p.readyAt = patch.readyAt ?? new Date();
        p.ready = patch.ready;
      }
      if (patch.restarts !== undefined) p.restarts = patch.restarts;
      if (patch.waiting !== undefined) p.waiting = patch.waiting;
      if (patch.lastTermination !== undefined) p.lastTermination = patch.lastTermination;
      if (patch.createdAt !== undefined) p.createdAt = patch.createdAt;
      if (patch.readyAt !== undefined) p.readyAt = patch.readyAt;
      nextRv();
      // A pod that became ready lets a rolling update go on.
      const owner = deployments.get(p.owner);
      if (owner !== undefined && owner.rollout === undefined) syncPods(owner);
    },

    setImageBehaviour(image, behaviour) {
      imageBehaviour.set(image, behaviour);
    },

    setLogs(namespace, podName, container, text) {
      logs.set(`${key(namespace, podName)}/${container}`, logLines(text));
    },

    setPreviousLogs(namespace, podName, container, text) {
      previousLogs.set(`${key(namespace, podName)}/${container}`, logLines(text));
    },

    setPodMetrics(namespace, podName, usage) {
      podMetrics.set(key(namespace, podName), usage);
    },

    setNodes(list) {
      nodes = list.map((n) => ({ ...n }));
    },

    addService(service) {
      services.set(key(service.namespace, service.name), structuredClone(service));
    },

    addEvent(event) {
      return events.add(event);
    },

    addStorageClass(storageClass) {
      volumes.addStorageClass(storageClass);
    },

    addVolumeClaim(claim) {
      volumes.addClaim(claim);
    },

    volumeClaim(namespace, name) {
      return volumes.view(namespace, name);
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
      volumes.close();
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
