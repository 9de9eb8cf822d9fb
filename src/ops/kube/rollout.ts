/**
 * Following a deployment the way `kubectl rollout status` does, the one follower every change
 * uses: a rollout of a new template (followRollout: the controller must have seen the change
 * (observedGeneration), every replica must be of the new template (updatedReplicas), the old ones
 * gone (replicas), and the new ones available — or the deployment says it has exceeded its
 * progress deadline), or a scale (followReplicas: that many replicas ready and available); either
 * until our own deadline passes first, or the signal stops it. A read that fails is a
 * kubeFailure that says what the bot was doing (`what`).
 *
 *   const result = await followRollout(kube, { namespace, deployment }, { generation: 8, timeoutMs: 300_000, onProgress });
 *   // { done: true, message: 'deployment "recipe-database" successfully rolled out', tookMs: 14_210, state: { … }, failure: null }
 *   const scaled = await followReplicas(kube, { namespace, deployment: 'recipe-app' }, 0, { timeoutMs: 120_000, signal });
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
  /** The sentence for the last state seen (kubectl's, for a rollout). */
  message: string;
  state: RolloutState;
  tookMs: number;
  /** Why it ended without being done: `timeout` (ours), `deadline` (the deployment's), `stopped`. */
  failure: 'timeout' | 'deadline' | 'stopped' | null;
}

export interface FollowOptions {
  timeoutMs: number;
  pollMs?: number;
  /** Called with each new state of the deployment, and the sentence for it. */
  onProgress?: (state: RolloutState, message: string) => Promise<void>;
  signal?: AbortSignal;
  /** What a failed read says the bot could not do (KubeAction.what); default `read the deployment ns/name`. */
  what?: string;
}

export interface DeploymentTarget {
  namespace: string;
  deployment: string;
}

export async function readRolloutState(kube: Kube, target: DeploymentTarget): Promise<RolloutState> {
  const d = await kube.apps.readNamespacedDeployment({ name: target.deployment, namespace: target.namespace }, abortable(kube, AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS)));
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

/** Follows the rollout of `generation` (the one the patch produced: older observations are not this rollout). */
export function followRollout(kube: Kube, target: DeploymentTarget, options: FollowOptions & { generation: number }): Promise<RolloutResult> {
  return followDeployment(kube, target, options, (state) => ({
    ...rolloutStatus(target.deployment, state, options.generation),
    deadline: state.deadlineExceeded && state.observedGeneration >= options.generation,
  }));
}

/** Follows a scale until `replicas` are ready and available (and no more). */
export function followReplicas(kube: Kube, target: DeploymentTarget, replicas: number, options: FollowOptions): Promise<RolloutResult> {
  return followDeployment(kube, target, options, (s) => ({
    done: s.ready === replicas && s.available === replicas,
    message: `${s.ready} of ${replicas} ${replicas === 1 ? 'replica' : 'replicas'} ready (${s.available} available)`,
    deadline: false,
  }));
}

async function followDeployment(
  kube: Kube,
  target: DeploymentTarget,
  options: FollowOptions,
  goal: (state: RolloutState) => { done: boolean; message: string; deadline: boolean },
): Promise<RolloutResult> {
  const started = performance.now();
  const until = Date.now() + options.timeoutMs;
  let shown = '';
  for (;;) {
    const state = await readRolloutState(kube, target).catch((error: unknown) => {
      throw kubeFailure(error, { what: options.what ?? `read the deployment ${target.namespace}/${target.deployment}` });
    });
    const { done, message, deadline } = goal(state);
    const key = JSON.stringify(state);
    if (key !== shown) {
      shown = key;
      await options.onProgress?.(state, message);
    }
    const result = (failure: RolloutResult['failure']): RolloutResult => ({ done, message, state, tookMs: performance.now() - started, failure });
    if (done) return result(null);
    if (deadline) return result('deadline');
    if (options.signal?.aborted) return result('stopped');
    if (Date.now() >= until) return result('timeout');
    await pause(Math.min(options.pollMs ?? 1_000, Math.max(10, until - Date.now())), options.signal);
  }
}

/** Sleeps, or less when the signal stops the follow. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
