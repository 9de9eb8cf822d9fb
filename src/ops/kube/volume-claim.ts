/**
 * The database's data volume claim (RECIPEDB_PVC): how big the volume is, for `growth`'s
 * projection of when it fills. The capacity is what was provisioned (status), else what was asked
 * for (spec), as `kubectl get pvc` shows them.
 *
 *   const claim = await readVolumeClaim(kube, { namespace: 'recipe-database', name: 'recipe-database-pvc' }, AbortSignal.timeout(2000));
 *   // { ok: true, name, capacityBytes: 10737418240, capacity: '10Gi', storageClass: 'standard', phase: 'Bound' } | { ok: false, reason }
 */
import { abortable } from './abortable.js';
import type { Kube } from './kube-client.js';
import { kubeFailure } from './kube-failure.js';
import { parseQuantity } from './quantity.js';

export type VolumeClaim =
  | { ok: true; name: string; capacityBytes: number; capacity: string; storageClass: string | null; phase: string | null }
  | { ok: false; reason: string };

export async function readVolumeClaim(kube: Kube, target: { namespace: string; name: string }, signal?: AbortSignal): Promise<VolumeClaim> {
  const where = `${target.namespace}/${target.name}`;
  let claim;
  try {
    claim = await kube.core.readNamespacedPersistentVolumeClaim({ name: target.name, namespace: target.namespace }, abortable(kube, signal));
  } catch (error) {
    return { ok: false, reason: kubeFailure(error, { what: `read the volume claim ${where}`, notFound: `the volume claim ${where} does not exist (RECIPEDB_PVC)` }).message };
  }
  const capacity = claim.status?.capacity?.storage ?? claim.spec?.resources?.requests?.storage;
  const bytes = parseQuantity(capacity);
  if (capacity === undefined || bytes === null) return { ok: false, reason: `the volume claim ${where} states no storage size` };
  return { ok: true, name: target.name, capacityBytes: bytes, capacity, storageClass: claim.spec?.storageClassName ?? null, phase: claim.status?.phase ?? null };
}
