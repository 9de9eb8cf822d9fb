/**
 * The database's data volume claim (RECIPEDB_PVC) as `kubectl get pvc` and `kubectl describe pvc`
 * show it — requested size, capacity, storage class, the resize conditions — and its expansion:
 * a patch of `spec.resources.requests.storage`, followed until `status.capacity` shows the new size
 * or the claim waits for its pod to restart (FileSystemResizePending).
 *
 *   const claim = await readVolumeClaim(kube, { namespace: 'recipe-database', pvc: 'recipe-database-pvc' });
 *   // { requested: '10Gi', capacity: '10Gi', storageClass: 'standard', conditions: [], … }
 *   await requestVolumeSize(kube, target, '20Gi');
 *   const end = await followVolumeResize(kube, target, { size: '20Gi', timeoutMs: 300_000 });
 */
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { abortable } from './abortable.js';
import { KUBE_CALL_TIMEOUT_MS } from './deployments.js';
import type { Kube } from './kube-client.js';
import { kubeFailure } from './kube-failure.js';
import { parseQuantity } from './quantity.js';

export interface ClaimTarget {
  namespace: string;
  pvc: string;
}

export interface ClaimCondition {
  type: string;
  message: string | null;
}

export interface VolumeClaim {
  namespace: string;
  name: string;
  phase: string;
  /** spec.resources.requests.storage, as written, and in bytes. */
  requested: string | null;
  requestedBytes: number | null;
  /** status.capacity.storage: what the volume has now. */
  capacity: string | null;
  capacityBytes: number | null;
  storageClass: string | null;
  accessModes: string[];
  volume: string | null;
  /** The true conditions: Resizing, FileSystemResizePending, ControllerResizeError… */
  conditions: ClaimCondition[];
}

export interface StorageClassInfo {
  name: string;
  provisioner: string;
  allowVolumeExpansion: boolean;
}

export type StorageClassResult = { ok: true; storageClass: StorageClassInfo } | { ok: false; reason: string };

const deadline = (kube: Kube, signal?: AbortSignal) => abortable(kube, signal ?? AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS));
const where = (t: ClaimTarget): string => `${t.namespace}/${t.pvc}`;

function describeClaim(claim: V1PersistentVolumeClaim, target: ClaimTarget): VolumeClaim {
  const requested = claim.spec?.resources?.requests?.storage ?? null;
  const capacity = claim.status?.capacity?.storage ?? null;
  return {
    namespace: target.namespace,
    name: target.pvc,
    phase: claim.status?.phase ?? 'Unknown',
    requested,
    requestedBytes: parseQuantity(requested),
    capacity,
    capacityBytes: parseQuantity(capacity),
    storageClass: claim.spec?.storageClassName ?? null,
    accessModes: claim.spec?.accessModes ?? [],
    volume: claim.spec?.volumeName ?? null,
    conditions: (claim.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => ({ type: c.type, message: c.message ?? null })),
  };
}

export async function readVolumeClaim(kube: Kube, target: ClaimTarget, signal?: AbortSignal): Promise<VolumeClaim> {
  const claim = await kube.core.readNamespacedPersistentVolumeClaim({ name: target.pvc, namespace: target.namespace }, deadline(kube, signal)).catch((error: unknown) => {
    throw kubeFailure(error, { what: `read the volume claim ${where(target)}`, notFound: `the volume claim ${where(target)} does not exist (RECIPEDB_PVC)` });
  });
  return describeClaim(claim, target);
}

/** The claim's class; a failure is an answer too (the claim is still worth showing). */
export async function readStorageClass(kube: Kube, name: string, signal?: AbortSignal): Promise<StorageClassResult> {
  try {
    const sc = await kube.storage.readStorageClass({ name }, deadline(kube, signal));
    return { ok: true, storageClass: { name, provisioner: sc.provisioner, allowVolumeExpansion: sc.allowVolumeExpansion === true } };
  } catch (error) {
    return { ok: false, reason: kubeFailure(error, { what: `read the storage class ${name}`, notFound: `the storage class ${name} does not exist` }).message };
  }
}

export async function requestVolumeSize(kube: Kube, target: ClaimTarget, size: string): Promise<VolumeClaim> {
  const patched = await kube.core
    .patchNamespacedPersistentVolumeClaim(
      { name: target.pvc, namespace: target.namespace, body: { spec: { resources: { requests: { storage: size } } } } },
      kube.lib.setHeaderOptions('Content-Type', kube.lib.PatchStrategy.MergePatch, deadline(kube)),
    )
    .catch((error: unknown) => {
      throw kubeFailure(error, { what: `patch the volume claim ${where(target)}`, notFound: `the volume claim ${where(target)} does not exist` });
    });
  return describeClaim(patched, target);
}

export interface ResizeEnd {
  /** `done`: capacity reached; `restart-pending`: FileSystemResizePending; `timeout`: neither in time; `failed`: a resize error condition. */
  outcome: 'done' | 'restart-pending' | 'timeout' | 'failed';
  claim: VolumeClaim;
  tookMs: number;
}

/** Polls the claim until its capacity reaches `bytes`, it waits for a pod restart, a resize error shows, or the timeout. */
export async function followVolumeResize(
  kube: Kube,
  target: ClaimTarget,
  options: { bytes: number; timeoutMs: number; pollMs?: number; onProgress?: (claim: VolumeClaim) => Promise<void> },
): Promise<ResizeEnd> {
  const started = performance.now();
  const end = Date.now() + options.timeoutMs;
  let shown = '';
  for (;;) {
    const claim = await readVolumeClaim(kube, target);
    const key = `${claim.capacity} ${claim.conditions.map((c) => c.type).join(',')}`;
    if (key !== shown) {
      shown = key;
      await options.onProgress?.(claim);
    }
    const result = (outcome: ResizeEnd['outcome']): ResizeEnd => ({ outcome, claim, tookMs: performance.now() - started });
    if ((claim.capacityBytes ?? 0) >= options.bytes) return result('done');
    if (claim.conditions.some((c) => c.type === 'FileSystemResizePending')) return result('restart-pending');
    if (claim.conditions.some((c) => /ResizeError|Failed/.test(c.type))) return result('failed');
    if (Date.now() >= end) return result('timeout');
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.pollMs ?? 1_000, Math.max(10, end - Date.now()))));
  }
}
