/**
 * Reading and scaling deployments through the scale subresource (what `kubectl scale` does); the
 * scale is followed until the replicas are ready with followReplicas (rollout.ts).
 *
 *   const current = await readReplicas(kube, 'default', 'recipe-app'); // 3
 *   await setReplicas(kube, 'default', 'recipe-app', 0);
 */
import { abortable } from './abortable.js';
import type { Kube } from './kube-client.js';

/** No single API call may hang an approved action: each is cut off after this. */
export const KUBE_CALL_TIMEOUT_MS = 15_000;

const deadline = (kube: Kube) => abortable(kube, AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS));

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
