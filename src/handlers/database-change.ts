/**
 * What `resize`, `image` and `storage expand` share: Kubernetes must be configured to plan them,
 * each runs under the operation lock (runLockedProcedure: a restore, a maintenance operation and
 * these exclude each other, across replicas), and the two that replace the database pod follow the
 * rollout, find the new pod, say why a pod that never became ready did not, and wait for the
 * server to answer.
 *
 *   const rollout = await followDatabaseRollout(change, generation, (text) => step.progress(text));
 */
import type pg from 'pg';
import { formatDuration } from '../duration.js';
import type { Config } from '../config.js';
import { readDatabasePods, type DatabasePod } from '../ops/kube/database-pods.js';
import type { ContainerTarget } from '../ops/kube/database-deployment.js';
import type { Kube } from '../ops/kube/kube-client.js';
import { followRollout, type RolloutResult } from '../ops/kube/rollout.js';
import { readWarningEvents } from '../ops/kube/warning-events.js';
import { waitForServer, type ServerBack } from '../ops/postgres/server-version.js';
import type { ExecutionContext } from './gated.js';
import type { HandlerContext } from './handler.js';
import { Refusal } from './refusal.js';

/** How long the server may take to accept connections once its new pod is ready. */
export const SERVER_BACK_TIMEOUT_MS = 60_000;
const ROLLOUT_POLL_MS = 500;
const MAX_WARNINGS = 3;

/** What a change of the database deployment works on, taken from the execution context. */
export interface DatabaseChange {
  kube: Kube;
  db: pg.Pool;
  config: Config;
  target: ContainerTarget;
}

export function requireKube(ctx: HandlerContext, command: string): Kube {
  if (!ctx.kube) throw new Refusal(`Kubernetes is not configured (set KUBECONFIG, or run the bot in the cluster): \`${command}\` changes the database's deployment through it.`);
  return ctx.kube;
}

/** The database's container as configured (RECIPEDB_NAMESPACE, RECIPEDB_DEPLOYMENT, RECIPEDB_CONTAINER): what a change is planned for. */
export function databaseTarget(config: Config): ContainerTarget {
  const { namespace, deployment, container } = config.database;
  return { namespace, deployment, container };
}

/** What an approved change works on: the container its plan names, null without Kubernetes. */
export function databaseChange(ctx: ExecutionContext, planned: ContainerTarget): DatabaseChange | null {
  if (!ctx.kube) return null;
  return { kube: ctx.kube, db: ctx.db, config: ctx.config, target: { namespace: planned.namespace, deployment: planned.deployment, container: planned.container } };
}

/** Follows the rollout of `generation` within ROLLOUT_TIMEOUT, showing kubectl's sentence as it goes. */
export async function followDatabaseRollout(change: DatabaseChange, generation: number, progress: (text: string) => Promise<void>): Promise<RolloutResult> {
  let shown = '';
  return followRollout(change.kube, change.target, {
    generation,
    timeoutMs: change.config.rolloutTimeoutMs,
    pollMs: ROLLOUT_POLL_MS,
    onProgress: async (_state, message) => {
      if (message === shown) return;
      shown = message;
      await progress(`following the rollout: ${message}`);
    },
  });
}

/** The sentence for a rollout that did not finish: what it waited for, and what the pods say. */
export async function rolloutFailure(change: DatabaseChange, rollout: RolloutResult): Promise<string> {
  const why =
    rollout.failure === 'deadline'
      ? `the deployment exceeded its progress deadline`
      : `the new pod did not become ready within ${formatDuration(change.config.rolloutTimeoutMs)}`;
  const trouble = await podTrouble(change).catch(() => []);
  return `${why} (${rollout.message})${trouble.length > 0 ? `: ${trouble.join('; ')}` : ''}`;
}

/** The not-ready pods of the deployment and their newest warnings, one phrase each. */
export async function podTrouble(change: DatabaseChange): Promise<string[]> {
  const { kube, target } = change;
  const [pods, warnings] = await Promise.all([
    readDatabasePods(kube, target, { metricsTimeoutMs: 1 }),
    readWarningEvents(kube, { namespace: target.namespace, deployment: target.deployment, pvc: change.config.database.pvc, since: new Date(Date.now() - 15 * 60_000) }).catch(
      () => null,
    ),
  ]);
  const troubled = pods.pods.filter((p) => p.readyContainers < p.totalContainers || p.phase !== 'Running');
  const phrases = troubled.map((p) => `pod ${p.name} ${podState(p, target.container)}`);
  const names = new Set(troubled.map((p) => p.name));
  for (const e of (warnings?.events ?? []).filter((w) => names.has(w.name)).slice(0, MAX_WARNINGS)) {
    phrases.push(`${e.reason}${e.count > 1 ? ` ×${e.count}` : ''}: ${e.message.slice(0, 120)}`);
  }
  return phrases;
}

/** `is Running, not ready: CrashLoopBackOff, 3 restarts, last exit Error (code 1)` */
export function podState(pod: DatabasePod, containerName: string): string {
  const c = pod.containers.find((x) => x.name === containerName) ?? pod.containers[0];
  const parts = [pod.readyContainers < pod.totalContainers ? `${pod.phase}, not ready` : pod.phase];
  if (c?.waiting) parts.push(c.waiting.reason);
  else if (pod.reason !== null && pod.reason !== pod.phase) parts.push(pod.reason);
  if (c && c.restarts > 0) parts.push(`${c.restarts} ${c.restarts === 1 ? 'restart' : 'restarts'}`);
  if (c?.lastTermination) parts.push(`last exit ${c.lastTermination.reason ?? 'unknown'} (code ${c.lastTermination.exitCode ?? '?'})`);
  return `is ${parts.join(', ')}`;
}

/** The deployment's pods now, ready first. */
export async function currentPods(change: DatabaseChange): Promise<DatabasePod[]> {
  const { pods } = await readDatabasePods(change.kube, change.target, { metricsTimeoutMs: 1 });
  return [...pods].sort((a, b) => Number(b.readyContainers === b.totalContainers) - Number(a.readyContainers === a.totalContainers));
}

/** How long a pod took from creation to ready: the downtime of a Recreate rollout, near enough. */
export function startDuration(pod: DatabasePod): number | null {
  return pod.createdAt !== null && pod.readyAt !== null ? Math.max(0, pod.readyAt.getTime() - pod.createdAt.getTime()) : null;
}

export async function serverBack(change: DatabaseChange): Promise<ServerBack> {
  return waitForServer(change.db, { timeoutMs: SERVER_BACK_TIMEOUT_MS });
}

/** The approval request's warning that the database pod is replaced, with what the last start took. */
export function restartWarning(replicas: number, strategy: string, pods: DatabasePod[]): string {
  const newest = [...pods].sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0))[0];
  const took = newest === undefined ? null : startDuration(newest);
  const last = took === null ? 'how long the last start took is not known' : `the current pod took ${formatDuration(took)} from creation to ready`;
  if (replicas <= 1) {
    const how = strategy === 'Recreate' ? 'the old pod stops before the new one starts (strategy Recreate)' : 'the new pod replaces the only one';
    return `⚠ the database pod restarts: with 1 replica the database is DOWN during the rollout — ${how}; ${last}`;
  }
  return `⚠ the database pods restart one by one (${replicas} replicas, strategy ${strategy}); ${last}`;
}
