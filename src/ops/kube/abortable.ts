/**
 * Request options that tie a Kubernetes API call to an AbortSignal, so a call that outlives its
 * deadline is cancelled on the wire instead of holding a socket open behind a timed-out answer.
 *
 *   await kube.core.listNamespacedPod({ namespace }, abortable(AbortSignal.timeout(2000)));
 */
import { type ConfigurationOptions, type RequestContext, type ResponseContext, Observable } from '@kubernetes/client-node';

export function abortable(signal: AbortSignal | undefined): ConfigurationOptions | undefined {
  if (signal === undefined) return undefined;
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
