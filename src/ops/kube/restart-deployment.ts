/**
 * `kubectl rollout restart` for one deployment: the restart sets the pod template's
 * `kubectl.kubernetes.io/restartedAt` annotation (a strategic merge patch of the deployment,
 * exactly what kubectl sends), so the deployment rolls out new pods that read their Secrets
 * again; followRollout (rollout.ts) follows it until every replica is updated and available.
 *
 *   const { generation } = await restartDeployment(kube, { namespace: 'default', name: 'recipe-app' }, new Date());
 *   const result = await followRollout(kube, { namespace: 'default', deployment: 'recipe-app' }, { generation, timeoutMs: 300_000 });
 */
import { abortable } from './abortable.js';
import { KUBE_CALL_TIMEOUT_MS } from './deployments.js';
import type { Kube } from './kube-client.js';

export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

export interface DeploymentRef {
  namespace: string;
  name: string;
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
