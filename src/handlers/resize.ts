/**
 * `resize [--cpu REQ[/LIMIT]] [--memory REQ[/LIMIT]]`: the runbook's vertical scaling. The plan
 * shows the database container's requests and limits current → new and warns that the database
 * pod restarts; on approval the container is patched by name and the rollout followed until the
 * new pod is ready and the server answers (resize-procedure.ts). A quantity that is not one, out of
 * bounds, or a request above its limit is refused before any approval is asked.
 */
import { z } from 'zod';
import { formatDuration } from '../duration.js';
import { formatCpu, formatMemory } from '../format.js';
import { readDatabaseDeployment, type ContainerResources } from '../ops/kube/database-deployment.js';
import { readDatabasePods } from '../ops/kube/database-pods.js';
import { parseQuantity } from '../ops/kube/quantity.js';
import { databaseTarget, requireKube, restartWarning } from './database-change.js';
import { planned, type GatedAction, type GatedResult } from './gated.js';
import { flagValue, noWords, onlyFlags } from './args.js';
import { defineHandler } from './handler.js';
import { Refusal } from './refusal.js';
import { resizePlan, type ResizePlan } from './resize-plan.js';
import { runResizeProcedure } from './resize-procedure.js';

type Resource = 'cpu' | 'memory';

const BOUNDS: Record<Resource, { min: number; max: number; min_text: string; max_text: string; example: string }> = {
  cpu: { min: 0.01, max: 64, min_text: '10m', max_text: '64 cores', example: '500m, 2 or 1/2' },
  memory: { min: 64 * 2 ** 20, max: 512 * 2 ** 30, min_text: '64Mi', max_text: '512Gi', example: '512Mi, 4Gi or 2Gi/4Gi' },
};

// Kubernetes quantities without sign or exponent: what an operator types for CPU and memory.
const QUANTITY = /^(?:\d+(?:\.\d+)?|\.\d+)(?:m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$/;

interface ResourceChange {
  request: string;
  limit?: string;
}

/** `--cpu REQ[/LIMIT]`, `--memory REQ[/LIMIT]`. */
const resourceFlag = (resource: Resource) =>
  flagValue.transform((value, ctx): ResourceChange | undefined => {
    if (value === undefined) return undefined;
    const parsed = parseResourceArgument(resource, value);
    if (typeof parsed !== 'string') return parsed;
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  });

const resizeArgs = z
  .object({
    positional: noWords('takes only --cpu REQ[/LIMIT] and --memory REQ[/LIMIT]'),
    flags: onlyFlags({ cpu: resourceFlag('cpu'), memory: resourceFlag('memory') }, (flag) => `does not take --${flag} (it takes --cpu and --memory)`),
  })
  .transform(({ flags }, ctx) => {
    const changes: Partial<Record<Resource, ResourceChange>> = {};
    if (flags.cpu) changes.cpu = flags.cpu;
    if (flags.memory) changes.memory = flags.memory;
    if (Object.keys(changes).length === 0) {
      ctx.addIssue({ code: 'custom', message: 'needs --cpu REQ[/LIMIT] or --memory REQ[/LIMIT] (e.g. --memory 1Gi/2Gi)' });
      return z.NEVER;
    }
    return changes;
  });

/** The change, or the sentence that says what is wrong with the argument. */
function parseResourceArgument(resource: Resource, value: string | true): ResourceChange | string {
  const bounds = BOUNDS[resource];
  const usage = `--${resource} takes REQ or REQ/LIMIT, like ${bounds.example}`;
  if (value === true) return `${usage}`;
  const parts = value.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) return `${usage}, not "${value.slice(0, 40)}"`;
  const amounts: number[] = [];
  for (const part of parts) {
    const amount = QUANTITY.test(part) ? parseQuantity(part) : null;
    if (amount === null) return `${usage}: "${part.slice(0, 40)}" is not a Kubernetes quantity`;
    if (amount < bounds.min || amount > bounds.max) {
      return `--${resource} ${part} is out of bounds: it must be between ${bounds.min_text} and ${bounds.max_text}`;
    }
    amounts.push(amount);
  }
  const [request = '', limit] = parts;
  if (limit !== undefined && (amounts[0] ?? 0) > (amounts[1] ?? 0)) return `--${resource} ${value}: the request ${request} is more than the limit ${limit}`;
  return limit === undefined ? { request } : { request, limit };
}

const format = (resource: Resource, quantity: string | undefined): string =>
  quantity === undefined ? 'none' : resource === 'cpu' ? formatCpu(parseQuantity(quantity)) : formatMemory(parseQuantity(quantity));

function sameAmount(a: string | undefined, b: string | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && parseQuantity(a) === parseQuantity(b));
}

function targetLine(resource: Resource, from: ContainerResources, to: ContainerResources): string {
  const part = (kind: 'requests' | 'limits', noun: string): string => {
    const before = from[kind][resource];
    const after = to[kind][resource];
    return sameAmount(before, after) ? `${noun} ${format(resource, before)} (unchanged)` : `${noun} ${format(resource, before)} → ${format(resource, after)}`;
  };
  return `${resource === 'cpu' ? 'CPU' : 'memory'}: ${part('requests', 'request')}, ${part('limits', 'limit')}`;
}

export const resizeHandler = defineHandler({
  name: 'resize',
  usage: 'resize [--cpu REQ[/LIMIT]] [--memory REQ[/LIMIT]]',
  summary: "change the database container's CPU and memory requests and limits (the database pod restarts)",
  gated: true,
  args: resizeArgs,
  async run(args, ctx): Promise<GatedResult<ResizePlan>> {
    const kube = requireKube(ctx, 'resize');
    const target = databaseTarget(ctx.config);
    const current = await readDatabaseDeployment(kube, target);
    const from = current.resources;
    const to: ContainerResources = { requests: { ...from.requests }, limits: { ...from.limits } };
    for (const resource of ['cpu', 'memory'] as const) {
      const change = args[resource];
      if (change === undefined) continue;
      to.requests[resource] = change.request;
      if (change.limit !== undefined) to.limits[resource] = change.limit;
      const limit = to.limits[resource];
      if (change.limit === undefined && limit !== undefined && (parseQuantity(change.request) ?? 0) > (parseQuantity(limit) ?? 0)) {
        throw new Refusal(
          `The ${resource} request ${change.request} would be above the container's ${resource} limit ${limit}: give both, e.g. \`--${resource} ${change.request}/${change.request}\`. Nothing was requested.`,
        );
      }
    }
    const changed = (['cpu', 'memory'] as const).filter((r) => !sameAmount(from.requests[r], to.requests[r]) || !sameAmount(from.limits[r], to.limits[r]));
    if (changed.length === 0) {
      return { kind: 'nothing', message: `The container ${target.container} already has these requests and limits; nothing to do.` };
    }
    const { pods } = await readDatabasePods(kube, target, { metricsTimeoutMs: 1 }).catch(() => ({ pods: [] }));
    const where = `${target.namespace}/${target.deployment}`;
    return planned(
      'resize',
      `resize the database container ${target.container} of ${where} (${changed.map((r) => targetLine(r, from, to)).join('; ')})`,
      [
        `${where}, container ${target.container}`,
        ...changed.map((r) => targetLine(r, from, to)),
        restartWarning(current.replicas, current.strategy, pods),
        `if the new pod is not ready within ${formatDuration(ctx.config.rolloutTimeoutMs)}, the previous requests and limits are put back`,
      ],
      { ...target, from, to },
    );
  },
});

export const resizeAction: GatedAction<ResizePlan> = {
  action: 'resize',
  plan: resizePlan,
  execute: (plan, ctx) => runResizeProcedure(plan, ctx),
};
