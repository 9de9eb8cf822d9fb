/**
 * The Kubernetes API clients, or null when Kubernetes is not configured (no KUBECONFIG and not
 * running in a pod): features that need it then say "not configured". The client library is
 * loaded only then: it alone would add some 75 MB to a bot that never talks to Kubernetes.
 *
 *   const kube = await createKube({ kubeconfig: '/path/kubeconfig' }); // kube?.apps.readNamespacedDeployment(…)
 */
import type * as KubeLibrary from '@kubernetes/client-node';

export interface Kube {
  /** The library itself, for the few values (patch options, middleware) the ops modules need. */
  lib: typeof KubeLibrary;
  config: KubeLibrary.KubeConfig;
  apps: KubeLibrary.AppsV1Api;
  core: KubeLibrary.CoreV1Api;
  /** EndpointSlices (discovery.k8s.io/v1): the Service's endpoints, as v1 Endpoints are deprecated since 1.33. */
  discovery: KubeLibrary.DiscoveryV1Api;
  /** Storage classes (whether the database's volume may grow). */
  storage: KubeLibrary.StorageV1Api;
  /** SelfSubjectAccessReviews: whether an optional permission is granted, asked without being refused. */
  authorization: KubeLibrary.AuthorizationV1Api;
  metrics: KubeLibrary.Metrics;
  logs: KubeLibrary.Log;
}

export async function createKube(options: { kubeconfig?: string; env?: NodeJS.ProcessEnv }): Promise<Kube | null> {
  const env = options.env ?? process.env;
  if (!options.kubeconfig && !env.KUBERNETES_SERVICE_HOST) return null;
  const lib = await import('@kubernetes/client-node');
  const config = new lib.KubeConfig();
  if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
  else config.loadFromCluster();
  return {
    lib,
    config,
    apps: config.makeApiClient(lib.AppsV1Api),
    core: config.makeApiClient(lib.CoreV1Api),
    discovery: config.makeApiClient(lib.DiscoveryV1Api),
    storage: config.makeApiClient(lib.StorageV1Api),
    authorization: config.makeApiClient(lib.AuthorizationV1Api),
    metrics: new lib.Metrics(config),
    logs: new lib.Log(config),
  };
}
