/**
 * `kubectl logs deployment/NAME -c CONTAINER --tail N --since D`, but across every pod of the
 * deployment, each pod's lines kept apart.
 *
 *   const logs = await readPodLogs(kube, { namespace: 'recipe-database', deployment: 'recipe-database',
 *                                          container: 'recipe-database', tailLines: 100, sinceSeconds: 3600 });
 *   // logs.pods[0] → { pod: 'recipe-database-7d9f8b-x2k4q', lines: ['…'], error: null }
 */
import { abortable } from './abortable.js';
import { listDeploymentPods, type DeploymentTarget } from './deployment-pods.js';
import type { Kube } from './kube-client.js';
import { kubeFailure } from './kube-failure.js';

export interface PodLogRequest extends DeploymentTarget {
  container: string;
  tailLines: number;
  sinceSeconds?: number;
  /** Each line starts with the kubelet's RFC 3339 time of it, as `kubectl logs --timestamps`. */
  timestamps?: boolean;
  signal?: AbortSignal;
}

export interface PodLog {
  pod: string;
  lines: string[];
  /** Why this pod's log could not be read (a pod still starting has none yet); the others still show. */
  error: string | null;
}

export interface PodLogs {
  namespace: string;
  deployment: string;
  container: string;
  pods: PodLog[];
}

export class UnknownContainerError extends Error {
  override name = 'UnknownContainerError';
  constructor(
    readonly container: string,
    readonly validContainers: string[],
    where: string,
  ) {
    super(`there is no container "${container}" in the pods of ${where}; valid containers: ${validContainers.join(', ')}`);
  }
}

// The server stops sending after this much per pod: a runaway log line cannot exhaust the bot's memory.
const MAX_BYTES_PER_POD = 4 * 1024 * 1024;

export async function readPodLogs(kube: Kube, request: PodLogRequest): Promise<PodLogs> {
  const { namespace, deployment, container, tailLines, sinceSeconds, timestamps, signal } = request;
  const where = `${namespace}/${deployment}`;
  const { pods } = await listDeploymentPods(kube, { namespace, deployment }, signal);
  if (pods.length === 0) throw new Error(`the deployment ${where} has no pods`);
  const valid = [...new Set(pods.flatMap((p) => (p.spec?.containers ?? []).map((c) => c.name)))];
  if (!valid.includes(container)) throw new UnknownContainerError(container, valid, where);

  const logs = await Promise.all(
    pods.map(async (pod): Promise<PodLog> => {
      const name = pod.metadata?.name ?? '';
      try {
        const text = await kube.core.readNamespacedPodLog(
          { name, namespace, container, tailLines, sinceSeconds, timestamps, limitBytes: MAX_BYTES_PER_POD },
          abortable(kube, signal),
        );
        return { pod: name, lines: splitLines(text), error: null };
      } catch (error) {
        return { pod: name, lines: [], error: kubeFailure(error, { what: `read the log of ${name}`, notFound: `the pod ${name} is gone` }).message };
      }
    }),
  );
  return { namespace, deployment, container, pods: logs };
}

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
