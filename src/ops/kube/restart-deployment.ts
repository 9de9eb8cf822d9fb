/**
 * `kubectl rollout restart` and `kubectl rollout status` for one deployment: the restart sets
 * the pod template's `kubectl.kubernetes.io/restartedAt` annotation (a strategic merge patch of
 * the deployment, exactly what kubectl sends), so the deployment rolls out new pods that read
 * their Secrets again; the status follows it until every replica is updated and available.
 *
 *   const { generation } = await restartDeployment(kube, { namespace: 'default', name: 'recipe-app' }, new Date());
 *   const { done, state } = await waitForRollout(kube, { namespace: 'default', name: 'recipe-app' }, { generation, timeoutMs: 300_000 });
 */
import { abortable } from './abortable.js';
import { KUBE_CALL_TIMEOUT_MS } from './deployments.js';
import type { Kube } from './kube-client.js';

export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

export interface DeploymentRef {
  namespace: string;
  name: string;
}

export interface RolloutState {
  desired: number;
  updated: number;
  ready: number;
  available: number;
  /** Pods still running, old and new (status.replicas). */
  total: number;
  observedGeneration: number;
}

const deadline = (kube: Kube) => abortable(kube, AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS));

/** Patches the restart annotation; `dryRun` only asks the API server whether it would accept it. */
export async function restartDeployment(kube: Kube, ref: DeploymentRef, at: Date, options: { dryRun?: boolean } = {}): Promise<{ generation: number }> {
  const body = { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at.toISOString() } } } } };
  const patched = await kube.apps.patchNamespacedDeployment(
    { name: ref.name, namespace: ref.namespace, body, dryRun: options.dryRun ? 'All' : undefined },
    kube.lib.setHeaderOptions('Content-Type', kube.lib.PatchStrategy.StrategicMergePatch, deadline(kube)),
  );
  return { generation: patched.metadata?.generation ?? 0 };
}

export async function readRollout(kube: Kube, ref: DeploymentRef): Promise<RolloutState> {
  const d = await kube.apps.readNamespacedDeployment({ name: ref.name, namespace: ref.namespace }, deadline(kube));
  // The API leaves zero counts out of the status.
  return {
    desired: d.spec?.replicas ?? 0,
    updated: d.status?.updatedReplicas ?? 0,
    ready: d.status?.readyReplicas ?? 0,
    available: d.status?.availableReplicas ?? 0,
    total: d.status?.replicas ?? 0,
    observedGeneration: d.status?.observedGeneration ?? 0,
  };
}

/** kubectl's rule: the controller saw the change, every replica is updated and available, and no old pod is left. */
export function rolloutComplete(state: RolloutState, generation: number): boolean {
  return (
    state.observedGeneration >= generation &&
    state.updated >= state.desired &&
    state.total <= state.updated &&
    state.available >= state.updated
  );
}

export async function waitForRollout(
  kube: Kube,
  ref: DeploymentRef,
  options: { generation: number; timeoutMs: number; pollMs?: number; onProgress?: (state: RolloutState) => Promise<void>; signal?: AbortSignal },
): Promise<{ done: boolean; state: RolloutState }> {
  const until = Date.now() + options.timeoutMs;
  let last = '';
  for (;;) {
    const state = await readRollout(kube, ref);
    const key = JSON.stringify(state);
    if (key !== last) {
      last = key;
      await options.onProgress?.(state);
    }
    if (rolloutComplete(state, options.generation)) return { done: true, state };
    if (Date.now() >= until || options.signal?.aborted) return { done: false, state };
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1_000));
  }
}
