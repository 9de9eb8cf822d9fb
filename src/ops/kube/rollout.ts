/**
 * Following a deployment's rollout the way `kubectl rollout status` does: the controller must have
 * seen the change (observedGeneration), every replica must be of the new template
 * (updatedReplicas), the old ones gone (replicas), and the new ones available — or the deployment
 * says it has exceeded its progress deadline, or our own deadline passes first.
 *
 *   const result = await followRollout(kube, { namespace, deployment }, { generation: 8, timeoutMs: 300_000, onProgress });
 *   // { done: true, message: 'deployment "recipe-database" successfully rolled out', tookMs: 14_210, state: { … } }
 */
import { abortable } from './abortable.js';
import { KUBE_CALL_TIMEOUT_MS } from './deployments.js';
import type { Kube } from './kube-client.js';
import { kubeFailure } from './kube-failure.js';

export interface RolloutState {
  generation: number;
  observedGeneration: number;
  desired: number;
  /** Pods of every revision (old ones still terminating count). */
  total: number;
  updated: number;
  ready: number;
  available: number;
  /** The Progressing condition says ProgressDeadlineExceeded. */
  deadlineExceeded: boolean;
}

export interface RolloutResult {
  done: boolean;
  /** kubectl's sentence for the last state seen. */
  message: string;
  state: RolloutState;
  tookMs: number;
  /** Why it ended without being done: `timeout` (ours), `deadline` (the deployment's), `stopped`. */
  failure: 'timeout' | 'deadline' | 'stopped' | null;
}

export interface FollowOptions {
  /** The generation the patch produced: older observations are not this rollout. */
  generation: number;
  timeoutMs: number;
  pollMs?: number;
  onProgress?: (state: RolloutState, message: string) => Promise<void>;
  signal?: AbortSignal;
}

export async function readRolloutState(kube: Kube, target: { namespace: string; deployment: string }): Promise<RolloutState> {
  const d = await kube.apps
    .readNamespacedDeployment({ name: target.deployment, namespace: target.namespace }, abortable(kube, AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS)))
    .catch((error: unknown) => {
      throw kubeFailure(error, { what: `read the deployment ${target.namespace}/${target.deployment}` });
    });
  const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
  // The API leaves zero counts out of the status.
  return {
    generation: d.metadata?.generation ?? 0,
    observedGeneration: d.status?.observedGeneration ?? 0,
    desired: d.spec?.replicas ?? 1,
    total: d.status?.replicas ?? 0,
    updated: d.status?.updatedReplicas ?? 0,
    ready: d.status?.readyReplicas ?? 0,
    available: d.status?.availableReplicas ?? 0,
    deadlineExceeded: progressing?.reason === 'ProgressDeadlineExceeded',
  };
}

/** kubectl's DeploymentStatusViewer: whether the rollout is complete, and its sentence for this state. */
export function rolloutStatus(name: string, s: RolloutState, generation: number): { done: boolean; message: string } {
  if (s.observedGeneration < generation) return { done: false, message: 'waiting for the deployment controller to see the change' };
  if (s.deadlineExceeded) return { done: false, message: `deployment "${name}" exceeded its progress deadline` };
  if (s.updated < s.desired) return { done: false, message: `${s.updated} of ${s.desired} new replicas updated (${s.ready} ready)` };
  if (s.total > s.updated) return { done: false, message: `${s.total - s.updated} old ${s.total - s.updated === 1 ? 'replica' : 'replicas'} pending termination` };
  if (s.available < s.updated) return { done: false, message: `${s.available} of ${s.updated} updated replicas available` };
  return { done: true, message: `deployment "${name}" successfully rolled out` };
}

export async function followRollout(kube: Kube, target: { namespace: string; deployment: string }, options: FollowOptions): Promise<RolloutResult> {
  const started = performance.now();
  const deadline = Date.now() + options.timeoutMs;
  let shown = '';
  for (;;) {
    const state = await readRolloutState(kube, target);
    const { done, message } = rolloutStatus(target.deployment, state, options.generation);
    if (message !== shown) {
      shown = message;
      await options.onProgress?.(state, message);
    }
    const result = (failure: RolloutResult['failure']): RolloutResult => ({ done, message, state, tookMs: performance.now() - started, failure });
    if (done) return result(null);
    if (state.deadlineExceeded && state.observedGeneration >= options.generation) return result('deadline');
    if (options.signal?.aborted) return result('stopped');
    if (Date.now() >= deadline) return result('timeout');
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.pollMs ?? 1_000, Math.max(10, deadline - Date.now()))));
  }
}
