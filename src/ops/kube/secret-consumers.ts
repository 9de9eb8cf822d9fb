/**
 * Who reads a Secret key: the pods of a namespace whose containers take it as an environment
 * variable (`env[].valueFrom.secretKeyRef`, or the whole Secret through `envFrom`) or mount it
 * (`volumes[].secret`, `projected`; unless `items` leaves the key out), grouped by the deployment
 * that owns them. A pod can only use Secrets of its own namespace, so that namespace is all there
 * is to search. The owner is found without reading ReplicaSets (which the bot may not): a
 * deployment's ReplicaSet is named `<deployment>-<pod-template-hash>`.
 *
 *   const found = await findSecretConsumers(kube, { namespace: 'recipe-database', name: 'recipe-database-secret', key: 'API_PASSWORD' });
 *   // found.deployments → [{ namespace: 'recipe-database', name: 'recipe-api', pods: 2, how: ['env API_PASSWORD'] }]
 *   // found.otherPods   → [{ pod: 'report-28911', owner: 'Job report-28911', how: ['envFrom'] }]
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { abortable } from './abortable.js';
import { KUBE_CALL_TIMEOUT_MS } from './deployments.js';
import type { Kube } from './kube-client.js';
import type { SecretKeyRef } from './secrets.js';

export interface SecretConsumerDeployment {
  namespace: string;
  name: string;
  pods: number;
  /** How its pods read the key: `env API_PASSWORD`, `envFrom`, `volume creds`. */
  how: string[];
}

export interface SecretConsumerPod {
  pod: string;
  /** `ReplicaSet x`, `StatefulSet y`, `Job z`, or null for a bare pod. */
  owner: string | null;
  how: string[];
}

export interface SecretConsumers {
  deployments: SecretConsumerDeployment[];
  /** Pods that read it but belong to no deployment: the bot does not restart those. */
  otherPods: SecretConsumerPod[];
}

export async function findSecretConsumers(kube: Kube, ref: SecretKeyRef): Promise<SecretConsumers> {
  const list = await kube.core.listNamespacedPod({ namespace: ref.namespace }, abortable(kube, AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS)));
  const deployments = new Map<string, SecretConsumerDeployment>();
  const otherPods: SecretConsumerPod[] = [];
  for (const pod of list.items) {
    const how = podReads(pod, ref);
    if (how.length === 0) continue;
    const deployment = owningDeployment(pod);
    if (deployment === undefined) {
      const owner = pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
      otherPods.push({ pod: pod.metadata?.name ?? '(unnamed)', owner: owner ? `${owner.kind} ${owner.name}` : null, how });
      continue;
    }
    const entry = deployments.get(deployment) ?? { namespace: ref.namespace, name: deployment, pods: 0, how: [] };
    entry.pods++;
    for (const h of how) if (!entry.how.includes(h)) entry.how.push(h);
    deployments.set(deployment, entry);
  }
  return {
    deployments: [...deployments.values()].sort((a, b) => a.name.localeCompare(b.name)),
    otherPods: otherPods.sort((a, b) => a.pod.localeCompare(b.pod)),
  };
}

/** The ways this pod reads the key; empty when it does not. */
export function podReads(pod: V1Pod, ref: Pick<SecretKeyRef, 'name' | 'key'>): string[] {
  const how: string[] = [];
  const add = (what: string): void => {
    if (!how.includes(what)) how.push(what);
  };
  const containers: V1Container[] = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  for (const container of containers) {
    for (const env of container.env ?? []) {
      const from = env.valueFrom?.secretKeyRef;
      if (from?.name === ref.name && from.key === ref.key) add(`env ${env.name}`);
    }
    for (const source of container.envFrom ?? []) {
      if (source.secretRef?.name === ref.name) add('envFrom');
    }
  }
  for (const volume of pod.spec?.volumes ?? []) {
    const secret = volume.secret;
    if (secret?.secretName === ref.name && (secret.items === undefined || secret.items.some((i) => i.key === ref.key))) add(`volume ${volume.name}`);
    for (const source of volume.projected?.sources ?? []) {
      const projected = source.secret;
      if (projected?.name === ref.name && (projected.items === undefined || projected.items.some((i) => i.key === ref.key))) add(`volume ${volume.name}`);
    }
  }
  return how;
}

function owningDeployment(pod: V1Pod): string | undefined {
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (owner?.kind !== 'ReplicaSet' || hash === undefined || !owner.name.endsWith(`-${hash}`)) return undefined;
  return owner.name.slice(0, -(hash.length + 1));
}
