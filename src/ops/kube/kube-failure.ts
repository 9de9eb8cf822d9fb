/**
 * Turns a Kubernetes client error into the sentence an operator reads. The client's own message
 * starts "HTTP-Code: 403\nMessage: …\nBody: {…}\nHeaders: {…}", which is no answer for a chat.
 *
 *   catch (error) { throw kubeFailure(error, { what: 'list the pods in recipe-database' }); }
 *   const replicas = await kubeCall(readReplicas(kube, 'default', 'recipe-app'), { what: 'read the deployment default/recipe-app' });
 */
import { withTimeout } from '../../with-timeout.js';
import { failure, networkProblem } from '../failure.js';
import { KUBE_CALL_TIMEOUT_MS } from './deployments.js';

export interface KubeAction {
  /** What was attempted, completing "the bot may not …": `read the deployment ns/name`. */
  what: string;
  /** The sentence for a 404, when "not found" means something specific. */
  notFound?: string;
  /** The sentence for a 403, when a refusal is expected and has a known remedy. */
  forbidden?: string;
}

export function kubeFailure(error: unknown, action: KubeAction): Error {
  if (isApiException(error)) {
    const code = error.code;
    const detail = statusMessage(error.body);
    if (code === 401) return failure("Kubernetes rejected the bot's credentials (401 Unauthorized)", error);
    // RBAC says `… is forbidden: User "…" cannot …`; an admission plugin's refusal gives its own reason instead.
    if (code === 403 && detail !== undefined && /is forbidden: (?!User ")/.test(detail)) return failure(`Kubernetes refused to ${action.what}: ${detail}`, error);
    if (code === 403) return failure(action.forbidden ?? `the bot's Kubernetes account may not ${action.what} (403 Forbidden)`, error);
    if (code === 404) return failure(action.notFound ?? `Kubernetes could not ${action.what}: not found`, error);
    return failure(`Kubernetes could not ${action.what}: ${detail ?? `HTTP ${code}`}`, error);
  }
  const e = error as { name?: string } | null;
  if (e?.name === 'AbortError') return failure(`Kubernetes did not answer in time to ${action.what}`, error);
  const network = networkProblem(error);
  if (network !== undefined) return failure(`the Kubernetes API is unreachable (${network})`, error);
  return error instanceof Error ? error : new Error(String(error));
}

/** One call, bounded by KUBE_CALL_TIMEOUT_MS whatever its own options, its failure told by kubeFailure. */
export async function kubeCall<T>(call: Promise<T>, action: KubeAction): Promise<T> {
  try {
    return await withTimeout(call, KUBE_CALL_TIMEOUT_MS, 'Kubernetes');
  } catch (error) {
    throw kubeFailure(error, action);
  }
}

/** The `message` of a Kubernetes Status object, whether the client parsed the body or not. */
function statusMessage(body: unknown): string | undefined {
  let status = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body) as unknown;
    } catch {
      return body.trim().split('\n')[0]?.slice(0, 200) || undefined;
    }
  }
  if (typeof status === 'object' && status !== null && 'message' in status && typeof status.message === 'string') {
    return status.message.slice(0, 200);
  }
  return undefined;
}

/** The client's ApiException, recognised by shape so that this module does not load the library. */
function isApiException(error: unknown): error is { code: number; body: unknown } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'number' && 'body' in error;
}
