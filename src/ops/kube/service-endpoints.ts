/**
 * `kubectl get endpoints SERVICE`: the pods the database's Service sends connections to (ready) and
 * the ones it holds back (not ready). A Service without ready endpoints is why the application
 * cannot connect even though a database pod exists.
 *
 *   const service = await readServiceEndpoints(kube, { namespace: 'recipe-database', service: 'recipe-database-service' });
 *   // { ready: [{ ip: '10.244.0.12', pod: 'recipe-database-7d9f8b-x2k4q' }], notReady: [], ports: ['5432/TCP'] }
 */
import type { V1EndpointAddress } from '@kubernetes/client-node';
import { abortable } from './abortable.js';
import type { Kube } from './kube-client.js';
import { kubeFailure } from './kube-failure.js';

export interface EndpointAddress {
  ip: string;
  pod: string | null;
}

export interface ServiceEndpoints {
  namespace: string;
  service: string;
  ready: EndpointAddress[];
  notReady: EndpointAddress[];
  ports: string[];
}

export async function readServiceEndpoints(kube: Kube, target: { namespace: string; service: string }, signal?: AbortSignal): Promise<ServiceEndpoints> {
  const { namespace, service } = target;
  const endpoints = await kube.core.readNamespacedEndpoints({ name: service, namespace }, abortable(kube, signal)).catch((error: unknown) => {
    throw kubeFailure(error, {
      what: `read the endpoints of the Service ${namespace}/${service}`,
      notFound: `the Service ${namespace}/${service} does not exist (RECIPEDB_SERVICE)`,
    });
  });
  const subsets = endpoints.subsets ?? [];
  const address = (a: V1EndpointAddress): EndpointAddress => ({ ip: a.ip, pod: a.targetRef?.kind === 'Pod' ? (a.targetRef.name ?? null) : null });
  return {
    namespace,
    service,
    ready: subsets.flatMap((s) => (s.addresses ?? []).map(address)),
    notReady: subsets.flatMap((s) => (s.notReadyAddresses ?? []).map(address)),
    ports: [...new Set(subsets.flatMap((s) => (s.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`)))],
  };
}
