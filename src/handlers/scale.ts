/**
 * `scale <deployment> <replicas>`: only deployments in SCALABLE_DEPLOYMENTS, 0–50 replicas. The
 * plan captures current → new; on approval the scale subresource is patched and the rollout
 * followed until the new replicas are ready or ROLLOUT_TIMEOUT. While a restore runs (on any
 * replica) it refuses: the restore scales the application itself.
 */
import { z } from 'zod';
import { readReplicas, setReplicas } from '../ops/kube/deployments.js';
import { followReplicas } from '../ops/kube/rollout.js';
import { formatDuration } from '../duration.js';
import type { Services } from '../context.js';
import { OperationRunningError, runningOperation } from '../ops/operation-lock.js';
import { forgetScaleDown } from '../state/app-scale-downs.js';
import { planned, type ActionOutcome, type GatedAction, type GatedResult } from './gated.js';
import { defineHandler } from './handler.js';
import { Refusal } from './refusal.js';

export const MAX_REPLICAS = 50;

const scalePlan = z.object({
  namespace: z.string().min(1),
  name: z.string().min(1),
  from: z.number().int().min(0),
  to: z.number().int().min(0).max(MAX_REPLICAS),
});
export type ScalePlan = z.infer<typeof scalePlan>;

const scaleArgs = z
  .object({
    positional: z.array(z.string()).length(2, 'needs a deployment and a number of replicas'),
    flags: z.record(z.string(), z.unknown()).refine((f) => Object.keys(f).length === 0, 'takes no options'),
  })
  .transform((raw, ctx) => {
    const [deployment, replicasText] = raw.positional as [string, string];
    if (!/^(?:[a-z0-9-]+\/)?[a-z0-9.-]+$/.test(deployment)) {
      ctx.addIssue({ code: 'custom', message: 'needs a deployment name like recipe-app (or namespace/name)' });
      return z.NEVER;
    }
    if (!/^\d{1,3}$/.test(replicasText) || Number(replicasText) > MAX_REPLICAS) {
      ctx.addIssue({ code: 'custom', message: `replicas must be a whole number from 0 to ${MAX_REPLICAS}, not "${replicasText.slice(0, 20)}"` });
      return z.NEVER;
    }
    return { deployment, replicas: Number(replicasText) };
  });

export const scaleHandler = defineHandler({
  name: 'scale',
  usage: 'scale <deployment> <replicas>',
  summary: `set the replicas (0–${MAX_REPLICAS}) of an allowed deployment (SCALABLE_DEPLOYMENTS)`,
  gated: true,
  args: scaleArgs,
  async run(args, ctx): Promise<GatedResult<ScalePlan>> {
    const allowed = ctx.config.scalableDeployments;
    const match = allowed.filter((entry) => entry === args.deployment || entry.split('/')[1] === args.deployment);
    if (match.length !== 1) {
      throw new Refusal(
        match.length === 0
          ? `\`${args.deployment}\` is not a deployment the bot may scale (allowed: ${allowed.join(', ') || 'none'}).`
          : `\`${args.deployment}\` is ambiguous: say which one of ${match.join(', ')}.`,
      );
    }
    if (!ctx.kube) throw new Refusal('Kubernetes is not configured (set KUBECONFIG, or run the bot in the cluster): cannot scale.');
    const restoring = await restoreRunning(ctx);
    if (restoring) throw new Refusal(`Cannot scale now: ${restoring}, and it scales the application itself (to 0, then back). Try again when it is done.`);
    const [namespace, name] = (match[0] as string).split('/') as [string, string];
    const from = await readReplicas(ctx.kube, namespace, name);
    if (from === args.replicas) return { kind: 'nothing', message: `${namespace}/${name} already has ${from} replicas; nothing to do.` };
    return planned('scale', `scale ${namespace}/${name} from ${from} to ${args.replicas} replicas`, [`${namespace}/${name}: ${from} → ${args.replicas} replicas`], {
      namespace,
      name,
      from,
      to: args.replicas,
    });
  },
});

/** "a restore is running (started by @U_BOB)" while a procedure that scales the application runs, on any replica. */
async function restoreRunning(ctx: Services): Promise<string | undefined> {
  const operation = await runningOperation(ctx.state);
  if (!operation || (operation.kind !== 'restore' && operation.kind !== 'pitr-restore')) return undefined;
  return new OperationRunningError(operation).message;
}

export const scaleAction: GatedAction<ScalePlan> = {
  action: 'scale',
  plan: scalePlan,
  async execute(plan, ctx): Promise<ActionOutcome> {
    if (!ctx.kube) return { ok: false, summary: 'Kubernetes is not configured; nothing was done', lines: [] };
    const restoring = await restoreRunning(ctx);
    if (restoring) return { ok: false, summary: `${restoring}, which scales the application itself; nothing was done — scale again when it is done`, lines: [] };
    const started = Date.now();
    const before = await readReplicas(ctx.kube, plan.namespace, plan.name);
    await setReplicas(ctx.kube, plan.namespace, plan.name, plan.to);
    // An operator's scale supersedes what an interrupted restore left to be scaled back.
    await forgetScaleDown(ctx.state, { namespace: plan.namespace, deployment: plan.name }).catch(() => undefined);
    const lines = [`${plan.namespace}/${plan.name}: ${before} → ${plan.to} replicas${before !== plan.from ? ` (it had ${before}, not ${plan.from} as planned)` : ''}`];
    const { done, state } = await followReplicas(ctx.kube, { namespace: plan.namespace, deployment: plan.name }, plan.to, {
      timeoutMs: ctx.config.rolloutTimeoutMs,
      onProgress: (s) => ctx.progress(`Scaling ${plan.namespace}/${plan.name} to ${plan.to}: ${s.ready}/${plan.to} ready`),
    });
    const took = formatDuration(Date.now() - started);
    lines.push(`ready ${state.ready}/${plan.to}, available ${state.available}, updated ${state.updated}`);
    return done
      ? { ok: true, summary: `${plan.namespace}/${plan.name} now has ${plan.to} ready replicas (took ${took})`, lines }
      : { ok: false, summary: `scaled to ${plan.to}, but only ${state.ready} replicas were ready after ${took}`, lines };
  },
};
