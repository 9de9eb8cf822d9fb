/**
 * The database deployment's pod template as `resize` and `image` change it: the database
 * container's image and resources, how the deployment replaces its pod (strategy, replicas), and
 * the change itself — a strategic merge patch of that one container, by name, as `kubectl set
 * image` and `kubectl set resources` send it (the other containers and fields are left alone).
 *
 *   const current = await readDatabaseDeployment(kube, { namespace: 'recipe-database', deployment: 'recipe-database', container: 'recipe-database' });
 *   // { image: 'postgres:15.4', resources: { requests: { memory: '512Mi' }, limits: { memory: '1Gi' } }, strategy: 'Recreate', replicas: 1, generation: 7, … }
 *   const { generation } = await patchDatabaseContainer(kube, target, { image: 'postgres:15.8' });
 */
import { abortable } from './abortable.js';
import { KUBE_CALL_TIMEOUT_MS } from './deployments.js';
import type { Kube } from './kube-client.js';
import { kubeFailure } from './kube-failure.js';

export interface ContainerTarget {
  namespace: string;
  deployment: string;
  container: string;
}

export interface ResourceQuantities {
  cpu?: string;
  memory?: string;
}

export interface ContainerResources {
  requests: ResourceQuantities;
  limits: ResourceQuantities;
}

export interface DatabaseDeployment {
  namespace: string;
  deployment: string;
  container: string;
  image: string;
  resources: ContainerResources;
  replicas: number;
  /** Recreate (the old pod stops before the new one starts) or RollingUpdate. */
  strategy: string;
  generation: number;
  terminationGracePeriodSeconds: number;
  progressDeadlineSeconds: number;
}

/** A change of the container; a resource set to null is removed (strategic merge patch's delete). */
export interface ContainerChange {
  image?: string;
  resources?: { requests?: Partial<Record<keyof ResourceQuantities, string | null>>; limits?: Partial<Record<keyof ResourceQuantities, string | null>> };
}

const where = (t: ContainerTarget): string => `${t.namespace}/${t.deployment}`;

export async function readDatabaseDeployment(kube: Kube, target: ContainerTarget, signal?: AbortSignal): Promise<DatabaseDeployment> {
  const found = await kube.apps
    .readNamespacedDeployment({ name: target.deployment, namespace: target.namespace }, abortable(kube, signal ?? AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS)))
    .catch((error: unknown) => {
      throw kubeFailure(error, { what: `read the deployment ${where(target)}`, notFound: `the deployment ${where(target)} does not exist` });
    });
  const pod = found.spec?.template.spec;
  const container = pod?.containers.find((c) => c.name === target.container);
  if (container === undefined) {
    const names = (pod?.containers ?? []).map((c) => c.name).join(', ');
    throw new Error(`the deployment ${where(target)} has no container ${target.container} (RECIPEDB_CONTAINER; it has ${names || 'none'})`);
  }
  const pick = (list: Record<string, string> | undefined): ResourceQuantities => {
    const out: ResourceQuantities = {};
    if (list?.cpu !== undefined) out.cpu = list.cpu;
    if (list?.memory !== undefined) out.memory = list.memory;
    return out;
  };
  return {
    namespace: target.namespace,
    deployment: target.deployment,
    container: target.container,
    image: container.image ?? '',
    resources: { requests: pick(container.resources?.requests), limits: pick(container.resources?.limits) },
    replicas: found.spec?.replicas ?? 1,
    strategy: found.spec?.strategy?.type ?? 'RollingUpdate',
    generation: found.metadata?.generation ?? 0,
    terminationGracePeriodSeconds: pod?.terminationGracePeriodSeconds ?? 30,
    progressDeadlineSeconds: found.spec?.progressDeadlineSeconds ?? 600,
  };
}

/** Patches the one container; returns the deployment's new generation, which the rollout must reach. */
export async function patchDatabaseContainer(kube: Kube, target: ContainerTarget, change: ContainerChange): Promise<{ generation: number }> {
  const body = { spec: { template: { spec: { containers: [{ name: target.container, ...change }] } } } };
  const patched = await kube.apps
    .patchNamespacedDeployment(
      { name: target.deployment, namespace: target.namespace, body },
      kube.lib.setHeaderOptions('Content-Type', kube.lib.PatchStrategy.StrategicMergePatch, abortable(kube, AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS))),
    )
    .catch((error: unknown) => {
      throw kubeFailure(error, { what: `patch the deployment ${where(target)}`, notFound: `the deployment ${where(target)} does not exist` });
    });
  return { generation: patched.metadata?.generation ?? 0 };
}
