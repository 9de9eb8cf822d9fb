/**
 * `kubectl get endpointslices -l kubernetes.io/service-name=SERVICE`: the pods the database's
 * Service sends connections to (ready) and the ones it holds back (not ready). A Service without
 * ready endpoints is why the application cannot connect even though a database pod exists.
 * EndpointSlices, not v1 Endpoints: those are deprecated since Kubernetes 1.33.
 *
 *   const service = await readServiceEndpoints(kube, { namespace: 'recipe-database', service: 'recipe-database-service' });
 *   // { ready: [{ ip: '10.244.0.12', pod: 'recipe-database-7d9f8b-x2k4q' }], notReady: [], ports: ['5432/TCP'] }
 */
import type { V1Endpoint } from '@kubernetes/client-node';
import { failure } from '../failure.js';
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
  const slices = await kube.discovery
    .listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` }, abortable(kube, signal))
    .catch((error: unknown) => {
      throw kubeFailure(error, { what: `list the EndpointSlices of the Service ${namespace}/${service}` });
    });
  // The controller writes a slice, empty if need be, for every Service with a selector.
  if (slices.items.length === 0) throw failure(`the Service ${namespace}/${service} has no EndpointSlice: it does not exist (RECIPEDB_SERVICE), or it has no selector`);
  const ready: EndpointAddress[] = [];
  const notReady: EndpointAddress[] = [];
  const seen = new Set<string>();
  const add = (endpoint: V1Endpoint): void => {
    const pod = endpoint.targetRef?.kind === 'Pod' ? (endpoint.targetRef.name ?? null) : null;
    // A nil `ready` is an unknown state, which the API says consumers treat as ready.
    const into = endpoint.conditions?.ready === false ? notReady : ready;
    for (const ip of endpoint.addresses) {
      // The controller may mirror one pod into more than one slice for a while (a slice being replaced).
      if (seen.has(ip)) continue;
      seen.add(ip);
      into.push({ ip, pod });
    }
  };
  for (const slice of slices.items) for (const endpoint of slice.endpoints ?? []) add(endpoint);
  return {
    namespace,
    service,
    ready,
    notReady,
    ports: [...new Set(slices.items.flatMap((s) => (s.ports ?? []).map((p) => `${p.port ?? '?'}/${p.protocol ?? 'TCP'}`)))],
  };
}
