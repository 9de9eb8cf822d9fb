/**
 * The Kubernetes API clients, or null when Kubernetes is not configured (no KUBECONFIG and not
 * running in a pod): features that need it then say "not configured".
 *
 *   const kube = createKube({ kubeconfig: '/path/kubeconfig' }); // kube?.apps.readNamespacedDeployment(…)
 */
import { AppsV1Api, CoreV1Api, KubeConfig, Log, Metrics } from '@kubernetes/client-node';

export interface Kube {
  config: KubeConfig;
  apps: AppsV1Api;
  core: CoreV1Api;
  metrics: Metrics;
  logs: Log;
}

export function createKube(options: { kubeconfig?: string; env?: NodeJS.ProcessEnv }): Kube | null {
  const env = options.env ?? process.env;
  const config = new KubeConfig();
  if (options.kubeconfig) {
    config.loadFromFile(options.kubeconfig);
  } else if (env.KUBERNETES_SERVICE_HOST) {
    config.loadFromCluster();
  } else {
    return null;
  }
  return {
    config,
    apps: config.makeApiClient(AppsV1Api),
    core: config.makeApiClient(CoreV1Api),
    metrics: new Metrics(config),
    logs: new Log(config),
  };
}
