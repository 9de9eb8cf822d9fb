/**
 * Reading and scaling deployments through the scale subresource (what `kubectl scale` does), and
 * following a rollout until the replicas are ready.
 *
 *   const current = await readReplicas(kube, 'default', 'recipe-app'); // 3
 *   await setReplicas(kube, 'default', 'recipe-app', 0);
 *   await waitForReplicas(kube, 'default', 'recipe-app', 0, { timeoutMs: 120_000, onProgress });
 */
import { abortable } from './abortable.js';
import type { Kube } from './kube-client.js';

/** No single API call may hang an approved action: each is cut off after this. */
export const KUBE_CALL_TIMEOUT_MS = 15_000;

const deadline = (kube: Kube) => abortable(kube, AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS));

export interface DeploymentReplicas {
  desired: number;
  ready: number;
  updated: number;
  available: number;
}

export async function readReplicas(kube: Kube, namespace: string, name: string): Promise<number> {
  const scale = await kube.apps.readNamespacedDeploymentScale({ name, namespace }, deadline(kube));
  return scale.spec?.replicas ?? 0;
}

export async function setReplicas(kube: Kube, namespace: string, name: string, replicas: number): Promise<void> {
  await kube.apps.patchNamespacedDeploymentScale(
    { name, namespace, body: { spec: { replicas } } },
    kube.lib.setHeaderOptions('Content-Type', kube.lib.PatchStrategy.MergePatch, deadline(kube)),
  );
}

export async function readDeploymentReplicas(kube: Kube, namespace: string, name: string): Promise<DeploymentReplicas> {
  const deployment = await kube.apps.readNamespacedDeployment({ name, namespace }, deadline(kube));
  // The API leaves zero counts out of the status.
  return {
    desired: deployment.spec?.replicas ?? 0,
    ready: deployment.status?.readyReplicas ?? 0,
    updated: deployment.status?.updatedReplicas ?? 0,
    available: deployment.status?.availableReplicas ?? 0,
  };
}

/**
 * Polls until `replicas` are ready (and no more are running), the timeout, or `signal` (a
 * shutdown: `stopped`); returns the last reading.
 */
export async function waitForReplicas(
  kube: Kube,
  namespace: string,
  name: string,
  replicas: number,
  options: { timeoutMs: number; pollMs?: number; onProgress?: (state: DeploymentReplicas) => Promise<void>; signal?: AbortSignal },
): Promise<{ done: boolean; state: DeploymentReplicas; stopped?: boolean }> {
  const deadline = Date.now() + options.timeoutMs;
  let last = '';
  for (;;) {
    const state = await readDeploymentReplicas(kube, namespace, name);
    const key = JSON.stringify(state);
    if (key !== last) {
      last = key;
      await options.onProgress?.(state);
    }
    if (state.ready === replicas && state.available === replicas) return { done: true, state };
    if (options.signal?.aborted) return { done: false, state, stopped: true };
    if (Date.now() >= deadline) return { done: false, state };
    await pause(options.pollMs ?? 1_000, options.signal);
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
