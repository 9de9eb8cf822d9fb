/**
 * `kubectl top pods -n NS` and `kubectl top nodes` in one read: current CPU (cores) and memory
 * (bytes) from metrics.k8s.io, with each pod's limits and each node's allocatable capacity so the
 * view can show percentages.
 *
 *   const top = await readTop(kube, 'recipe-database');
 *   // top.pods → { ok: true, items: [{ name, cpuCores: 0.12, memoryBytes: 3.1e8, … }] }
 *
 * Pods and nodes are answered separately: a bot account that may not list nodes (the default of
 * deploy/, whose Roles are namespaced) still gets its pods.
 */
import { abortable } from './abortable.js';
import type { Kube } from './kube-client.js';
import { kubeFailure } from './kube-failure.js';
import { parseQuantity } from './quantity.js';

export interface PodTop {
  name: string;
  node: string | null;
  cpuCores: number | null;
  memoryBytes: number | null;
  /** Sums over the pod's containers; null when any container runs without a limit. */
  cpuLimit: number | null;
  memoryLimit: number | null;
}

export interface NodeTop {
  name: string;
  cpuCores: number | null;
  memoryBytes: number | null;
  allocatableCpu: number | null;
  allocatableMemory: number | null;
}

/** `note` says what is missing from an answer that is still worth showing. */
export type TopPart<T> = { ok: true; items: T[]; note: string | null } | { ok: false; reason: string };

export interface Top {
  namespace: string;
  pods: TopPart<PodTop>;
  nodes: TopPart<NodeTop>;
}

const NO_METRICS = 'the metrics API (metrics-server) is not installed';
// Nodes are cluster-wide, outside the namespaced Roles of deploy/: reading them is an opt-in grant.
const NODES_FORBIDDEN = "the bot's Kubernetes account may not read nodes (apply deploy/optional/node-read.yaml to allow it)";

export async function readTop(kube: Kube, namespace: string, signal?: AbortSignal): Promise<Top> {
  const [pods, nodes] = await Promise.all([topPods(kube, namespace, signal), topNodes(kube, signal)]);
  return { namespace, pods, nodes };
}

async function topPods(kube: Kube, namespace: string, signal?: AbortSignal): Promise<TopPart<PodTop>> {
  const [metrics, specs] = await Promise.allSettled([
    kube.metrics.getPodMetrics(namespace),
    kube.core.listNamespacedPod({ namespace }, abortable(kube, signal)),
  ]);
  if (metrics.status === 'rejected') {
    return { ok: false, reason: kubeFailure(metrics.reason, { what: `read pod metrics in ${namespace}`, notFound: NO_METRICS }).message };
  }
  // Without the pod list, usage is still worth showing; only limits and nodes are missing.
  const podByName = new Map(specs.status === 'fulfilled' ? specs.value.items.map((p) => [p.metadata?.name ?? '', p]) : []);
  const items = metrics.value.items.map((m): PodTop => {
    const containers = podByName.get(m.metadata.name)?.spec?.containers ?? [];
    const limit = (resource: 'cpu' | 'memory'): number | null =>
      containers.length === 0 ? null : sum(containers.map((c) => parseQuantity(c.resources?.limits?.[resource])));
    return {
      name: m.metadata.name,
      node: podByName.get(m.metadata.name)?.spec?.nodeName ?? null,
      cpuCores: sum(m.containers.map((c) => parseQuantity(c.usage.cpu))),
      memoryBytes: sum(m.containers.map((c) => parseQuantity(c.usage.memory))),
      cpuLimit: limit('cpu'),
      memoryLimit: limit('memory'),
    };
  });
  const note = specs.status === 'rejected' ? `limits unknown: ${kubeFailure(specs.reason, { what: `list the pods in ${namespace}` }).message}` : null;
  return { ok: true, items: items.sort((a, b) => a.name.localeCompare(b.name)), note };
}

async function topNodes(kube: Kube, signal?: AbortSignal): Promise<TopPart<NodeTop>> {
  const [metrics, nodes] = await Promise.allSettled([kube.metrics.getNodeMetrics(), kube.core.listNode({}, abortable(kube, signal))]);
  if (metrics.status === 'rejected') {
    return { ok: false, reason: kubeFailure(metrics.reason, { what: 'read node metrics', notFound: NO_METRICS, forbidden: NODES_FORBIDDEN }).message };
  }
  const allocatable = new Map(nodes.status === 'fulfilled' ? nodes.value.items.map((n) => [n.metadata?.name ?? '', n.status?.allocatable ?? {}]) : []);
  const items = metrics.value.items.map((m): NodeTop => ({
    name: m.metadata.name,
    cpuCores: parseQuantity(m.usage.cpu),
    memoryBytes: parseQuantity(m.usage.memory),
    allocatableCpu: parseQuantity(allocatable.get(m.metadata.name)?.cpu),
    allocatableMemory: parseQuantity(allocatable.get(m.metadata.name)?.memory),
  }));
  const note = nodes.status === 'rejected' ? `allocatable capacity unknown: ${kubeFailure(nodes.reason, { what: 'list nodes' }).message}` : null;
  return { ok: true, items: items.sort((a, b) => a.name.localeCompare(b.name)), note };
}

/** Null when any part is unmeasured: a partial sum would understate usage. */
function sum(values: (number | null)[]): number | null {
  return values.every((v) => v !== null) ? values.reduce((a, b) => (a ?? 0) + (b ?? 0), 0) : null;
}
