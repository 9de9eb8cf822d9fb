/**
 * Request options that tie a Kubernetes API call to an AbortSignal, so a call that outlives its
 * deadline is cancelled on the wire instead of holding a socket open behind a timed-out answer.
 *
 *   await kube.core.listNamespacedPod({ namespace }, abortable(kube, AbortSignal.timeout(2000)));
 */
import type { ConfigurationOptions, RequestContext, ResponseContext } from '@kubernetes/client-node';
import type { Kube } from './kube-client.js';

export function abortable(kube: Kube, signal: AbortSignal | undefined): ConfigurationOptions | undefined {
  if (signal === undefined) return undefined;
  const { Observable } = kube.lib;
  return {
    middleware: [
      {
        pre: (request: RequestContext) => {
          request.setSignal(signal);
          return new Observable(Promise.resolve(request));
        },
        post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
      },
    ],
    // Keep whatever middleware the client was configured with (authentication among it).
    middlewareMergeStrategy: 'append',
  };
}
