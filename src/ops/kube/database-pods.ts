/**
 * The pods of the database deployment as `kubectl get pods` and `kubectl top pods` show them
 * together: phase, readiness, restarts, age, node, and each container's CPU and memory against
 * its requests and limits.
 *
 *   const pods = await readDatabasePods(kube, { namespace: 'recipe-database', deployment: 'recipe-database' });
 *   // pods.pods[0].containers[0].cpu → { used: 0.12, request: 0.25, limit: 1 }
 *
 * Usage comes from metrics.k8s.io, which many clusters lack (no metrics-server): then the pods are
 * still listed, with `used: null` and `metricsUnavailable` saying why.
 */
import type { PodMetric, V1Pod } from '@kubernetes/client-node';
import { withTimeout } from '../../with-timeout.js';
import { listDeploymentPods, type DeploymentTarget } from './deployment-pods.js';
import type { Kube } from './kube-client.js';
import { kubeFailure } from './kube-failure.js';
import { parseQuantity } from './quantity.js';

/** CPU in cores or memory in bytes; null where not measured or not set. */
export interface ResourceUse {
  used: number | null;
  request: number | null;
  limit: number | null;
}

/** How a container last ended (`kubectl describe`'s "Last State: Terminated"): OOMKilled, exit code 137… */
export interface Termination {
  reason: string | null;
  exitCode: number | null;
  signal: number | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface ContainerUse {
  name: string;
  ready: boolean;
  restarts: number;
  cpu: ResourceUse;
  memory: ResourceUse;
  /** The image the pod spec asks for, and the one the runtime runs with its digest (null until pulled). */
  image: string | null;
  imageId: string | null;
  /** Why it does not run now (CrashLoopBackOff, ImagePullBackOff…) with the kubelet's message. */
  waiting: { reason: string; message: string | null } | null;
  /** The previous run of a restarted container. */
  lastTermination: Termination | null;
}

export interface DatabasePod {
  name: string;
  /** Pending, Running, Succeeded, Failed, Unknown. */
  phase: string;
  /** Why it is not simply running, as kubectl's STATUS column says: CrashLoopBackOff, Terminating … */
  reason: string | null;
  readyContainers: number;
  totalContainers: number;
  restarts: number;
  startedAt: Date | null;
  createdAt: Date | null;
  /** When the pod last became ready (its Ready condition); null while it is not. */
  readyAt: Date | null;
  /** The pod's IP, as the Service's endpoints name it. */
  ip: string | null;
  node: string | null;
  containers: ContainerUse[];
}

export interface DatabasePods {
  namespace: string;
  deployment: string;
  selector: string;
  pods: DatabasePod[];
  /** Why CPU and memory usage are missing (no metrics-server, forbidden, slow); null when measured. */
  metricsUnavailable: string | null;
}

export interface ReadDatabasePodsOptions {
  signal?: AbortSignal;
  /** The metrics API gets less time than the pod list, so a slow metrics-server still leaves the pods shown. */
  metricsTimeoutMs?: number;
}

export async function readDatabasePods(kube: Kube, target: DeploymentTarget, options: ReadDatabasePodsOptions = {}): Promise<DatabasePods> {
  const { signal, metricsTimeoutMs = 1_500 } = options;
  // Started first and in parallel: the pod list needs two round trips, the metrics one.
  const metrics = withTimeout(kube.metrics.getPodMetrics(target.namespace), metricsTimeoutMs, 'the metrics API').then(
    (list) => ({ byPod: new Map(list.items.map((m) => [m.metadata.name, m])), unavailable: null }),
    (error: unknown) => ({ byPod: new Map<string, PodMetric>(), unavailable: metricsFailure(error) }),
  );
  const { selector, pods } = await listDeploymentPods(kube, target, signal);
  const { byPod, unavailable } = await metrics;
  return {
    namespace: target.namespace,
    deployment: target.deployment,
    selector,
    pods: pods.map((pod) => describePod(pod, byPod.get(pod.metadata?.name ?? ''))),
    metricsUnavailable: unavailable,
  };
}

function describePod(pod: V1Pod, metric: PodMetric | undefined): DatabasePod {
  const statuses = pod.status?.containerStatuses ?? [];
  const containers = (pod.spec?.containers ?? []).map((spec): ContainerUse => {
    const status = statuses.find((s) => s.name === spec.name);
    const usage = metric?.containers.find((c) => c.name === spec.name)?.usage;
    const resources = spec.resources ?? {};
    const waiting = status?.state?.waiting;
    const last = status?.lastState?.terminated;
    return {
      name: spec.name,
      ready: status?.ready ?? false,
      restarts: status?.restartCount ?? 0,
      image: spec.image ?? null,
      imageId: status?.imageID || null,
      waiting: waiting?.reason ? { reason: waiting.reason, message: waiting.message ?? null } : null,
      lastTermination:
        last === undefined
          ? null
          : {
              reason: last.reason ?? null,
              exitCode: last.exitCode ?? null,
              signal: last.signal ?? null,
              startedAt: last.startedAt ? new Date(last.startedAt) : null,
              finishedAt: last.finishedAt ? new Date(last.finishedAt) : null,
            },
      cpu: {
        used: parseQuantity(usage?.cpu),
        request: parseQuantity(resources.requests?.cpu),
        limit: parseQuantity(resources.limits?.cpu),
      },
      memory: {
        used: parseQuantity(usage?.memory),
        request: parseQuantity(resources.requests?.memory),
        limit: parseQuantity(resources.limits?.memory),
      },
    };
  });
  const waiting = statuses.map((s) => s.state?.waiting?.reason ?? s.state?.terminated?.reason).find((r) => r !== undefined);
  const started = pod.status?.startTime ?? pod.metadata?.creationTimestamp;
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const unschedulable = scheduled?.status === 'False' ? (scheduled.reason ?? 'Unschedulable') : undefined;
  return {
    name: pod.metadata?.name ?? '(unnamed)',
    phase: pod.status?.phase ?? 'Unknown',
    reason: pod.metadata?.deletionTimestamp !== undefined ? 'Terminating' : (waiting ?? unschedulable ?? pod.status?.reason ?? null),
    readyContainers: containers.filter((c) => c.ready).length,
    totalContainers: containers.length,
    restarts: containers.reduce((sum, c) => sum + c.restarts, 0),
    startedAt: started === undefined ? null : new Date(started),
    createdAt: pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp) : null,
    readyAt: ready?.status === 'True' && ready.lastTransitionTime ? new Date(ready.lastTransitionTime) : null,
    ip: pod.status?.podIP ?? null,
    node: pod.spec?.nodeName ?? null,
    containers,
  };
}

function metricsFailure(error: unknown): string {
  return kubeFailure(error, { what: 'read pod metrics', notFound: 'the metrics API (metrics-server) is not installed' }).message;
}
