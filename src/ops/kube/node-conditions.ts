/**
 * The conditions of the node the database pod runs on, as `kubectl describe node` lists them:
 * whether it is Ready and whether it is under memory, disk or PID pressure (the kubelet evicts pods
 * under pressure, the database first if it uses more than it requested). Nodes are cluster-scoped:
 * reading one needs deploy/optional/node-read.yaml. `mayReadNodes` asks first (a
 * SelfSubjectAccessReview, which every account may create), so that a bot without the grant is
 * not refused — and logged as refused by the API server — on every status.
 *
 *   const node = await readNodeConditions(kube, 'node-a');
 *   // { ok: true, name: 'node-a', ready: true, pressures: [{ type: 'MemoryPressure', message: 'kubelet has insufficient memory available' }] }
 */
import { abortable } from './abortable.js';
import type { Kube } from './kube-client.js';
import { kubeFailure } from './kube-failure.js';

export interface NodePressure {
  type: string;
  message: string | null;
}

export type NodeConditions =
  | { ok: true; name: string; ready: boolean; notReadyReason: string | null; pressures: NodePressure[] }
  | { ok: false; name: string; forbidden: boolean; reason: string };

const PRESSURES = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];

export async function readNodeConditions(kube: Kube, name: string, signal?: AbortSignal): Promise<NodeConditions> {
  try {
    const node = await kube.core.readNode({ name }, abortable(kube, signal));
    const conditions = node.status?.conditions ?? [];
    const ready = conditions.find((c) => c.type === 'Ready');
    return {
      ok: true,
      name,
      ready: ready?.status === 'True',
      notReadyReason: ready?.status === 'True' ? null : (ready?.message ?? ready?.reason ?? 'no Ready condition'),
      pressures: conditions.filter((c) => PRESSURES.includes(c.type) && c.status === 'True').map((c) => ({ type: c.type, message: c.message ?? null })),
    };
  } catch (error) {
    const forbidden = (error as { code?: unknown }).code === 403;
    return { ok: false, name, forbidden, reason: kubeFailure(error, { what: `read the node ${name}`, notFound: `the node ${name} is gone` }).message };
  }
}

/** Whether the bot's account may get nodes; false also when the API cannot say. */
export async function mayReadNodes(kube: Kube, signal?: AbortSignal): Promise<boolean> {
  const review = await kube.authorization
    .createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb: 'get', resource: 'nodes' } } } }, abortable(kube, signal))
    .catch(() => null);
  return review?.status?.allowed === true;
}
