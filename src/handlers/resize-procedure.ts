/**
 * The approved resize, as the runbook's "Increasing Resources" does it by hand (`kubectl patch
 * deployment …` then `kubectl rollout status`), as a table of steps:
 *
 *   1. the deployment is still as approved (nobody changed the resources since)
 *   2. set the requests and limits        ↩ put the previous ones back, and follow that rollout
 *   3. follow the rollout                  (ROLLOUT_TIMEOUT; a pod that never becomes ready fails it)
 *   4. the new pod is ready, with the new resources
 *   5. the server answers (SELECT 1)
 */
import { formatDuration } from '../duration.js';
import { failure } from '../ops/failure.js';
import { patchDatabaseContainer, readDatabaseDeployment, type ContainerChange, type ContainerResources } from '../ops/kube/database-deployment.js';
import type { DatabasePod } from '../ops/kube/database-pods.js';
import { parseQuantity } from '../ops/kube/quantity.js';
import type { RolloutResult } from '../ops/kube/rollout.js';
import type { ServerBack } from '../ops/postgres/server-version.js';
import {
  currentPods,
  databaseChange,
  followDatabaseRollout,
  rolloutFailure,
  serverBack,
  startDuration,
  type DatabaseChange,
} from './database-change.js';
import type { ActionOutcome, ExecutionContext } from './gated.js';
import { runLockedProcedure } from './locked-procedure.js';
import type { Procedure } from './procedure-runner.js';
import type { ResizePlan } from './resize-plan.js';

type Resources = NonNullable<ContainerChange['resources']>;

interface ResizeState {
  plan: ResizePlan;
  change: DatabaseChange;
  /** Only what changes: the new values, and (for the undo) the old ones, null where there was none. */
  forward: Resources;
  backward: Resources;
  patched: boolean;
  /** The generation the patch made: the rollout to follow. */
  generation?: number;
  rollout?: RolloutResult;
  newPod?: DatabasePod;
  server?: ServerBack;
  undo?: { ok: boolean; note: string };
}

const KINDS = ['requests', 'limits'] as const;
const RESOURCES = ['cpu', 'memory'] as const;

const same = (a: string | undefined, b: string | undefined): boolean => a === b || (a !== undefined && b !== undefined && parseQuantity(a) === parseQuantity(b));

function describe(resources: ContainerResources): string {
  const one = (r: 'cpu' | 'memory'): string => `${r} ${resources.requests[r] ?? 'none'}/${resources.limits[r] ?? 'none'}`;
  return `${one('cpu')}, ${one('memory')} (request/limit)`;
}

function differences(from: ContainerResources, to: ContainerResources): { forward: Resources; backward: Resources } {
  const forward: Resources = {};
  const backward: Resources = {};
  for (const kind of KINDS) {
    for (const r of RESOURCES) {
      if (same(from[kind][r], to[kind][r])) continue;
      (forward[kind] ??= {})[r] = to[kind][r] ?? null;
      (backward[kind] ??= {})[r] = from[kind][r] ?? null;
    }
  }
  return { forward, backward };
}

function hasResources(pod: DatabasePod, container: string, to: ContainerResources): boolean {
  const c = pod.containers.find((x) => x.name === container);
  if (c === undefined) return false;
  const is = (value: number | null, quantity: string | undefined): boolean => value === (quantity === undefined ? null : parseQuantity(quantity));
  return is(c.cpu.request, to.requests.cpu) && is(c.cpu.limit, to.limits.cpu) && is(c.memory.request, to.requests.memory) && is(c.memory.limit, to.limits.memory);
}

export const resizeProcedure: Procedure<ResizeState> = {
  name: 'resize',
  steps: [
    {
      title: 'the deployment is as approved',
      run: async (s) => {
        const now = await readDatabaseDeployment(s.change.kube, s.change.target);
        const unchanged = KINDS.every((k) => RESOURCES.every((r) => same(now.resources[k][r], s.plan.from[k][r])));
        if (!unchanged) {
          throw failure(`the container's resources changed since the request (now ${describe(now.resources)}, approved from ${describe(s.plan.from)}): request the resize again`);
        }
        return { note: describe(now.resources) };
      },
    },
    {
      title: 'set the requests and limits',
      run: async (s) => {
        const { generation } = await patchDatabaseContainer(s.change.kube, s.change.target, { resources: s.forward });
        s.patched = true;
        s.generation = generation;
        return { title: `set ${describe(s.plan.to)}`, note: `generation ${generation}` };
      },
      undo: {
        title: 'put the previous requests and limits back',
        run: async (s, step) => {
          try {
            const { generation } = await patchDatabaseContainer(s.change.kube, s.change.target, { resources: s.backward });
            const rollout = await followDatabaseRollout(s.change, generation, step.progress);
            if (!rollout.done) throw failure(await rolloutFailure(s.change, rollout));
            s.undo = { ok: true, note: `${describe(s.plan.from)} again, rolled out in ${formatDuration(rollout.tookMs)}` };
            return { title: `put ${describe(s.plan.from)} back`, note: `rolled out in ${formatDuration(rollout.tookMs)}` };
          } catch (error) {
            s.undo = { ok: false, note: error instanceof Error ? error.message : String(error) };
            throw error;
          }
        },
      },
    },
    {
      title: 'follow the rollout',
      run: async (s, step) => {
        s.rollout = await followDatabaseRollout(s.change, s.generation ?? 0, step.progress);
        if (!s.rollout.done) throw failure(await rolloutFailure(s.change, s.rollout));
        return { note: `${s.rollout.message} in ${formatDuration(s.rollout.tookMs)}` };
      },
    },
    {
      title: 'the new pod is ready',
      run: async (s) => {
        const pods = await currentPods(s.change);
        const pod = pods.find((p) => p.readyContainers === p.totalContainers && hasResources(p, s.plan.container, s.plan.to));
        if (pod === undefined) throw failure(`no ready pod of ${s.plan.deployment} runs with the new resources (pods: ${pods.map((p) => p.name).join(', ') || 'none'})`);
        s.newPod = pod;
        const took = startDuration(pod);
        return { title: `pod ${pod.name} is ready`, note: took === null ? undefined : `created to ready in ${formatDuration(took)}` };
      },
    },
    {
      title: 'the server answers',
      run: async (s) => {
        s.server = await serverBack(s.change);
        if (!s.server.ok) return { status: 'differs', note: `SELECT 1 still failed after ${formatDuration(s.server.tookMs)}: ${s.server.reason ?? 'no answer'}` };
        return { note: `SELECT 1 answered${s.server.attempts > 1 ? ` after ${formatDuration(s.server.tookMs)}` : ''}` };
      },
    },
  ],
  conclude(s, record) {
    const where = `${s.plan.namespace}/${s.plan.deployment}`;
    if (record.stopped) {
      return {
        ok: false,
        summary: `stopped: ${record.stopped}`,
        endState: [s.patched ? `Resources: ${describe(s.plan.to)} set; the rollout was not followed to its end` : `Resources: unchanged (${describe(s.plan.from)})`],
        next: ['Check `status` and `events`.'],
      };
    }
    if (record.failed) {
      const { number, reason } = record.failed;
      if (!s.patched) return { ok: false, summary: `nothing was changed: ${reason}`, endState: [`Resources: unchanged (${describe(s.plan.from)})`] };
      const undone = s.undo;
      return {
        ok: false,
        summary: `FAILED at step ${number}: ${reason}`,
        endState: [
          undone?.ok
            ? `Resources: back to ${undone.note}`
            : `Resources: ${describe(s.plan.to)} still set — putting the previous ones back failed too${undone ? `: ${undone.note}` : ''}`,
        ],
        next: undone?.ok ? ['Check `events` for why the new pod did not start (e.g. not enough memory on any node).'] : [`Check \`status\` and \`events\` now: ${where} may be down.`],
      };
    }
    const server = s.server?.ok ? 'the server answers' : `the server did not answer SELECT 1 (${s.server?.reason ?? 'no answer'})`;
    return {
      ok: s.server?.ok === true,
      summary: `${where} runs with ${describe(s.plan.to)}: pod ${s.newPod?.name ?? '?'} is ready and ${server}`,
      endState: [`Resources: ${describe(s.plan.to)}`, `Pod: ${s.newPod?.name ?? '?'} ready`, `Server: ${s.server?.ok ? 'answers SELECT 1' : 'not answering'}`],
      next: s.server?.ok ? [] : ['Check `status`: the pod is ready but the bot cannot reach the server.'],
    };
  },
};

export async function runResizeProcedure(plan: ResizePlan, ctx: ExecutionContext): Promise<ActionOutcome> {
  const change = databaseChange(ctx, plan);
  if (change === null) return { ok: false, summary: 'Kubernetes is not configured; nothing was done', lines: [] };
  const { forward, backward } = differences(plan.from, plan.to);
  const state: ResizeState = { plan, change, forward, backward, patched: false };
  return runLockedProcedure(ctx, { kind: 'resize', procedure: resizeProcedure, state, untouched: [`Resources: unchanged (${describe(plan.from)})`] });
}
