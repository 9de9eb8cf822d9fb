/**
 * Bounds a promise by a deadline, rejecting with a sentence an operator can read.
 *
 *   await withTimeout(kube.core.listNamespacedPod(…), 2000, 'Kubernetes'); // TimeoutError: Kubernetes did not answer within 2s
 */
import { formatDuration } from './duration.js';

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} did not answer within ${formatDuration(ms)}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
