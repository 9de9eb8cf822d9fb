/**
 * PersistentVolumeClaims and StorageClasses of the fake Kubernetes API, with volume expansion as
 * the API server and the resize controllers do it: a patch of `spec.resources.requests.storage` is
 * refused when it shrinks the claim (422) or when the claim's class does not allow expansion (403,
 * from the PersistentVolumeClaimResize admission plugin); otherwise the claim shows `Resizing`,
 * then either the new `status.capacity` (a driver that expands online) or `FileSystemResizePending`
 * until a pod using it starts again (offline expansion).
 *
 *   volumes.addStorageClass({ name: 'standard', allowVolumeExpansion: true });
 *   volumes.addClaim({ namespace: 'db', name: 'db-pvc', storageClassName: 'standard', size: '10Gi', resize: 'offline' });
 */
import { randomUUID } from 'node:crypto';
import { applyPatch, PatchError, type JsonValue } from './fake-kube-patch.js';
import type { FakeEvent } from './fake-kube-events.js';

type Json = Record<string, unknown>;

export interface FakeStorageClass {
  name: string;
  allowVolumeExpansion?: boolean;
  provisioner?: string;
}

export interface FakeVolumeClaim {
  namespace: string;
  name: string;
  storageClassName: string;
  /** spec.resources.requests.storage, and the capacity unless `capacity` says otherwise. */
  size: string;
  capacity?: string;
  accessModes?: string[];
  /** How the class's driver expands: at once while mounted (`online`, the default) or only when a pod starts (`offline`). */
  resize?: 'online' | 'offline';
}

export interface FakeVolumeClaimView {
  requested: string;
  capacity: string;
  conditions: string[];
}

interface Claim {
  spec: FakeVolumeClaim;
  uid: string;
  created: string;
  requested: string;
  capacity: string;
  conditions: { type: string; status: string; message?: string; lastTransitionTime: string }[];
  resourceVersion: string;
  timer?: NodeJS.Timeout;
}

const FS_RESIZE_PENDING = 'Waiting for user to (re-)start a pod to finish file system resize of volume on node.';

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** Bytes of a storage quantity, as the API server's resource.Quantity reads it; NaN when it is not one. */
export function storageBytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(quantity);
  if (match === null) return NaN;
  const unit = match[2] ?? '';
  return Number(match[1]) * (BINARY[unit] ?? DECIMAL[unit] ?? NaN);
}

export class FakeVolumes {
  private readonly classes = new Map<string, FakeStorageClass>();
  private readonly claims = new Map<string, Claim>();
  resizeDelayMs = 0;

  constructor(
    private readonly nextResourceVersion: () => string,
    private readonly emit: (event: FakeEvent) => void,
  ) {}

  addStorageClass(storageClass: FakeStorageClass): void {
    this.classes.set(storageClass.name, { ...storageClass });
  }

  addClaim(claim: FakeVolumeClaim): void {
    this.claims.set(`${claim.namespace}/${claim.name}`, {
      spec: { ...claim },
      uid: randomUUID(),
      created: now(),
      requested: claim.size,
      capacity: claim.capacity ?? claim.size,
      conditions: [],
      resourceVersion: this.nextResourceVersion(),
    });
  }

  view(namespace: string, name: string): FakeVolumeClaimView | undefined {
    const claim = this.claims.get(`${namespace}/${name}`);
    return claim && { requested: claim.requested, capacity: claim.capacity, conditions: claim.conditions.map((c) => c.type) };
  }

  storageClassJson(name: string): Json | undefined {
    const sc = this.classes.get(name);
    if (sc === undefined) return undefined;
    const json: Json = {
      kind: 'StorageClass',
      apiVersion: 'storage.k8s.io/v1',
      metadata: { name: sc.name, uid: randomUUID(), resourceVersion: '1', creationTimestamp: '2024-01-01T00:00:00Z' },
      provisioner: sc.provisioner ?? 'csi.example.com',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'WaitForFirstConsumer',
    };
    // omitempty: a class that does not allow expansion usually has no such field at all.
    if (sc.allowVolumeExpansion !== undefined) json.allowVolumeExpansion = sc.allowVolumeExpansion;
    return json;
  }

  storageClassesJson(): Json[] {
    return [...this.classes.keys()].map((name) => this.storageClassJson(name) as Json);
  }

  claimJson(namespace: string, name: string): Json | undefined {
    const claim = this.claims.get(`${namespace}/${name}`);
    if (claim === undefined) return undefined;
    const { spec } = claim;
    const accessModes = spec.accessModes ?? ['ReadWriteOnce'];
    const status: Json = { phase: 'Bound', accessModes, capacity: { storage: claim.capacity } };
    if (claim.conditions.length > 0) status.conditions = claim.conditions.map((c) => ({ ...c, lastProbeTime: null }));
    if (claim.requested !== claim.capacity) status.allocatedResources = { storage: claim.requested };
    return {
      kind: 'PersistentVolumeClaim',
      apiVersion: 'v1',
      metadata: {
        name,
        namespace,
        uid: claim.uid,
        resourceVersion: claim.resourceVersion,
        creationTimestamp: claim.created,
        annotations: {
          'pv.kubernetes.io/bind-completed': 'yes',
          'volume.kubernetes.io/storage-provisioner': this.classes.get(spec.storageClassName)?.provisioner ?? 'csi.example.com',
        },
        finalizers: ['kubernetes.io/pvc-protection'],
      },
      spec: {
        accessModes,
        resources: { requests: { storage: claim.requested } },
        storageClassName: spec.storageClassName,
        volumeMode: 'Filesystem',
        volumeName: `pvc-${claim.uid}`,
      },
      status,
    };
  }

  /** PATCH of a claim: only the requested storage may change, and only upwards on an expandable class. */
  patchClaim(namespace: string, name: string, contentType: string, body: unknown): Json | undefined {
    const claim = this.claims.get(`${namespace}/${name}`);
    const current = this.claimJson(namespace, name);
    if (claim === undefined || current === undefined) return undefined;
    const patched = applyPatch(current as JsonValue, contentType, body) as Json;
    const spec = (patched.spec ?? {}) as { resources?: { requests?: { storage?: unknown } }; storageClassName?: unknown; accessModes?: unknown };
    const requested = spec.resources?.requests?.storage;
    const currentSpec = current.spec as Json;
    const { resources: _ignored, ...restBefore } = currentSpec;
    const { resources: _ignoredToo, ...restAfter } = spec as Json;
    if (JSON.stringify(restBefore) !== JSON.stringify(restAfter)) {
      throw new PatchError(
        422,
        `PersistentVolumeClaim "${name}" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims`,
      );
    }
    if (typeof requested !== 'string' || Number.isNaN(storageBytes(requested))) {
      throw new PatchError(422, `PersistentVolumeClaim "${name}" is invalid: spec.resources[storage]: Required value`);
    }
    if (requested === claim.requested) return this.claimJson(namespace, name);
    if (storageBytes(requested) < storageBytes(claim.requested)) {
      throw new PatchError(422, `PersistentVolumeClaim "${name}" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than previous value`);
    }
    if (this.classes.get(claim.spec.storageClassName)?.allowVolumeExpansion !== true) {
      throw new PatchError(403, `persistentvolumeclaims "${name}" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize`);
    }
    claim.requested = requested;
    this.startResize(claim);
    return this.claimJson(namespace, name);
  }

  /** The kubelet expands an offline-resized volume when a pod using it starts. */
  podStarted(namespace: string): void {
    for (const claim of this.claims.values()) {
      if (claim.spec.namespace === namespace && claim.conditions.some((c) => c.type === 'FileSystemResizePending')) this.finishResize(claim);
    }
  }

  close(): void {
    for (const claim of this.claims.values()) if (claim.timer !== undefined) clearTimeout(claim.timer);
  }

  private startResize(claim: Claim): void {
    if (claim.timer !== undefined) clearTimeout(claim.timer);
    claim.conditions = [{ type: 'Resizing', status: 'True', lastTransitionTime: now() }];
    const involvedObject = { kind: 'PersistentVolumeClaim', name: claim.spec.name, uid: claim.uid };
    this.emit({
      namespace: claim.spec.namespace,
      involvedObject,
      type: 'Normal',
      reason: 'Resizing',
      message: `External resizer is resizing volume pvc-${claim.uid}`,
      component: 'external-resizer',
    });
    claim.resourceVersion = this.nextResourceVersion();
    const controllerDone = (): void => {
      claim.timer = undefined;
      if (claim.spec.resize === 'offline') {
        claim.conditions = [{ type: 'FileSystemResizePending', status: 'True', message: FS_RESIZE_PENDING, lastTransitionTime: now() }];
        this.emit({ namespace: claim.spec.namespace, involvedObject, type: 'Normal', reason: 'FileSystemResizeRequired', message: 'Require file system resize of volume on node', component: 'external-resizer' });
        claim.resourceVersion = this.nextResourceVersion();
      } else {
        this.finishResize(claim);
      }
    };
    if (this.resizeDelayMs <= 0) controllerDone();
    else claim.timer = setTimeout(controllerDone, this.resizeDelayMs);
  }

  private finishResize(claim: Claim): void {
    claim.capacity = claim.requested;
    claim.conditions = [];
    this.emit({
      namespace: claim.spec.namespace,
      involvedObject: { kind: 'PersistentVolumeClaim', name: claim.spec.name, uid: claim.uid },
      type: 'Normal',
      reason: 'FileSystemResizeSuccessful',
      message: `MountVolume.NodeExpandVolume succeeded for volume "pvc-${claim.uid}"`,
    });
    claim.resourceVersion = this.nextResourceVersion();
  }
}
