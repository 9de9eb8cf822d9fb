/**
 * `kubectl logs deployment/NAME -c CONTAINER --tail N --since D [--previous]`, but across every pod
 * of the deployment, each pod's lines kept apart. `previous`: the log of the container's instance
 * before its last restart (the crash an operator wants to read), which the API keeps until the
 * next restart.
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
  /** The previous (crashed) instance of the container. */
  previous?: boolean;
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
  const { namespace, deployment, container, tailLines, sinceSeconds, timestamps, signal, previous = false } = request;
  const where = `${namespace}/${deployment}`;
  const { pods } = await listDeploymentPods(kube, { namespace, deployment }, signal);
  if (pods.length === 0) throw new Error(`the deployment ${where} has no pods`);
  const valid = [...new Set(pods.flatMap((p) => (p.spec?.containers ?? []).map((c) => c.name)))];
  if (!valid.includes(container)) throw new UnknownContainerError(container, valid, where);

  const logs = await Promise.all(
    pods.map(async (pod): Promise<PodLog> => {
      const name = pod.metadata?.name ?? '';
      try {
        // readNamespacedPodLog rather than the Log helper: it can be aborted, and it keeps the
        // API's own message (the Log helper reports any 400 as "Error occurred in log request").
        const text = await kube.core.readNamespacedPodLog(
          { name, namespace, container, tailLines, sinceSeconds, previous, timestamps, limitBytes: MAX_BYTES_PER_POD },
          abortable(kube, signal),
        );
        return { pod: name, lines: splitLines(text), error: null };
      } catch (error) {
        if (previous && noPreviousContainer(error)) return { pod: name, lines: [], error: `no previous container: ${container} has not restarted in this pod` };
        return { pod: name, lines: [], error: kubeFailure(error, { what: `read the log of ${name}`, notFound: `the pod ${name} is gone` }).message };
      }
    }),
  );
  return { namespace, deployment, container, pods: logs };
}

/** The API's 400 for `previous=true` on a container that never restarted. */
function noPreviousContainer(error: unknown): boolean {
  const e = error as { code?: unknown; body?: unknown };
  return e.code === 400 && /previous terminated container .* not found/.test(typeof e.body === 'string' ? e.body : JSON.stringify(e.body ?? ''));
}

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
