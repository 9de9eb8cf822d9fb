/**
 * The memory the database may use: its container's memory limit in the deployment's pod template
 * (the cgroup limit PostgreSQL runs under). SQL cannot see it; `settings` judges memory settings
 * against it.
 *
 *   const memory = await readMemoryLimit(kube, { namespace: 'recipe-database', deployment: 'recipe-database', container: 'recipe-database' });
 *   // { ok: true, bytes: 2147483648, limit: '2Gi' } or { ok: false, reason: 'the container recipe-database has no memory limit' }
 */
import { abortable } from './abortable.js';
import type { Kube } from './kube-client.js';
import { kubeFailure } from './kube-failure.js';
import { parseQuantity } from './quantity.js';

export type MemoryLimit = { ok: true; bytes: number; limit: string } | { ok: false; reason: string };

export async function readMemoryLimit(
  kube: Kube,
  target: { namespace: string; deployment: string; container: string },
  signal?: AbortSignal,
): Promise<MemoryLimit> {
  const { namespace, deployment, container } = target;
  const where = `${namespace}/${deployment}`;
  let found;
  try {
    found = await kube.apps.readNamespacedDeployment({ name: deployment, namespace }, abortable(kube, signal));
  } catch (error) {
    return { ok: false, reason: kubeFailure(error, { what: `read the deployment ${where}`, notFound: `the deployment ${where} does not exist` }).message };
  }
  const spec = found.spec?.template.spec?.containers.find((c) => c.name === container);
  if (!spec) return { ok: false, reason: `the deployment ${where} has no container ${container}` };
  const limit = spec.resources?.limits?.memory;
  const bytes = parseQuantity(limit);
  if (limit === undefined || bytes === null) return { ok: false, reason: `the container ${container} has no memory limit` };
  return { ok: true, bytes, limit };
}
