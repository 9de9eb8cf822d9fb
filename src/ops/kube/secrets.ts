/**
 * One key of a named Secret: read it, change it, or create a new Secret. The bot's RBAC grants
 * `get` and `patch` only on the Secrets it names (resourceNames) and `create` in the database's
 * namespace; it never lists Secrets, so nothing here does.
 *
 *   const current = await readSecretKey(kube, { namespace: 'recipe-database', name: 'recipe-database-secret', key: 'API_PASSWORD' });
 *   await patchSecretData(kube, target, { API_PASSWORD: next, API_PASSWORD_PREVIOUS: current.value }, { resourceVersion: current.resourceVersion });
 *   await createSecret(kube, { namespace, name: 'recipedb-user-alice', data: { username: 'alice', password }, labels });
 *
 * Values travel base64-encoded in `data`, as the API stores them; a value of null in a patch
 * removes the key (JSON merge patch). Values never enter an error message: a failure says which
 * Secret and why, in the Kubernetes API's words.
 */
import { abortable } from './abortable.js';
import { KUBE_CALL_TIMEOUT_MS } from './deployments.js';
import type { Kube } from './kube-client.js';

export interface SecretRef {
  namespace: string;
  name: string;
}

export interface SecretKeyRef extends SecretRef {
  key: string;
}

export interface SecretKeyValue {
  resourceVersion: string | undefined;
  /** The decoded value; null when the Secret has no such key. */
  value: string | null;
  /** Every key the Secret holds (names only). */
  keys: string[];
}

const deadline = (kube: Kube) => abortable(kube, AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS));

export async function readSecretKey(kube: Kube, ref: SecretKeyRef): Promise<SecretKeyValue> {
  const secret = await kube.core.readNamespacedSecret({ name: ref.name, namespace: ref.namespace }, deadline(kube));
  const encoded = secret.data?.[ref.key];
  return {
    resourceVersion: secret.metadata?.resourceVersion,
    value: encoded === undefined ? null : Buffer.from(encoded, 'base64').toString('utf8'),
    keys: Object.keys(secret.data ?? {}),
  };
}

/**
 * A JSON merge patch of `data`. With `resourceVersion`, the API server refuses (409 Conflict) when
 * the Secret changed since it was read. `dryRun` asks the server to authorize and validate it only.
 */
export async function patchSecretData(
  kube: Kube,
  ref: SecretRef,
  values: Record<string, string | null>,
  options: { resourceVersion?: string; dryRun?: boolean } = {},
): Promise<void> {
  const data = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, value === null ? null : Buffer.from(value, 'utf8').toString('base64')]));
  const body: Record<string, unknown> = { data };
  if (options.resourceVersion !== undefined) body.metadata = { resourceVersion: options.resourceVersion };
  await kube.core.patchNamespacedSecret(
    { name: ref.name, namespace: ref.namespace, body, dryRun: options.dryRun ? 'All' : undefined },
    kube.lib.setHeaderOptions('Content-Type', kube.lib.PatchStrategy.MergePatch, deadline(kube)),
  );
}

/** Authorizes a patch of the Secret without changing it (an empty merge patch, dry run). */
export async function checkSecretPatchable(kube: Kube, ref: SecretRef): Promise<void> {
  await kube.core.patchNamespacedSecret(
    { name: ref.name, namespace: ref.namespace, body: {}, dryRun: 'All' },
    kube.lib.setHeaderOptions('Content-Type', kube.lib.PatchStrategy.MergePatch, deadline(kube)),
  );
}

export async function createSecret(
  kube: Kube,
  secret: SecretRef & { data: Record<string, string>; labels?: Record<string, string>; annotations?: Record<string, string>; dryRun?: boolean },
): Promise<void> {
  const data = Object.fromEntries(Object.entries(secret.data).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]));
  await kube.core.createNamespacedSecret(
    {
      namespace: secret.namespace,
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name: secret.name, namespace: secret.namespace, labels: secret.labels, annotations: secret.annotations },
        data,
      },
      dryRun: secret.dryRun ? 'All' : undefined,
    },
    deadline(kube),
  );
}
