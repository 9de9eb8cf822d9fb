/**
 * The pods a deployment owns, found the way its ReplicaSets find them: by the deployment's own
 * label selector (not by name prefix, which also matches unrelated pods).
 *
 *   const { pods } = await listDeploymentPods(kube, { namespace: 'recipe-database', deployment: 'recipe-database' });
 */
import type { V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import { abortable } from './abortable.js';
import type { Kube } from './kube-client.js';
import { kubeFailure } from './kube-failure.js';

export interface DeploymentTarget {
  namespace: string;
  deployment: string;
}

export interface DeploymentPods {
  selector: string;
  pods: V1Pod[];
}

export async function listDeploymentPods(kube: Kube, target: DeploymentTarget, signal?: AbortSignal): Promise<DeploymentPods> {
  const { namespace, deployment } = target;
  const where = `${namespace}/${deployment}`;
  const found = await kube.apps.readNamespacedDeployment({ name: deployment, namespace }, abortable(kube, signal)).catch((error: unknown) => {
    throw kubeFailure(error, { what: `read the deployment ${where}`, notFound: `the deployment ${where} does not exist` });
  });
  const selector = labelSelector(found.spec?.selector);
  if (selector === '') throw new Error(`the deployment ${where} has no pod selector`);
  const list = await kube.core.listNamespacedPod({ namespace, labelSelector: selector }, abortable(kube, signal)).catch((error: unknown) => {
    throw kubeFailure(error, { what: `list the pods in ${namespace}` });
  });
  const pods = [...list.items].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  return { selector, pods };
}

/** A LabelSelector as the `labelSelector` query parameter (`app=db,tier in (a,b),!legacy`). */
export function labelSelector(selector: V1LabelSelector | undefined): string {
  const terms = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const { key, operator, values = [] } of selector?.matchExpressions ?? []) {
    if (operator === 'In') terms.push(`${key} in (${values.join(',')})`);
    else if (operator === 'NotIn') terms.push(`${key} notin (${values.join(',')})`);
    else if (operator === 'Exists') terms.push(key);
    else if (operator === 'DoesNotExist') terms.push(`!${key}`);
    else throw new Error(`unknown label selector operator ${operator} on ${key}`);
  }
  return terms.join(',');
}
