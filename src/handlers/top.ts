/**
 * `top`: the runbook's resource check (`kubectl top pods -n NS`, `kubectl top nodes`) — current CPU
 * and memory of the database namespace's pods and of the cluster's nodes.
 */
import { readTop, type Top } from '../ops/kube/top.js';
import { withTimeout } from '../with-timeout.js';
import { defineHandler, noArgs } from './handler.js';

export type TopResult = { configured: false } | ({ configured: true; measuredAt: Date } & Top);

// Four reads in parallel; a metrics-server under load answers slower than a status source.
const TOP_TIMEOUT_MS = 10_000;

export const topHandler = defineHandler({
  name: 'top',
  usage: 'top',
  summary: 'CPU and memory of the database namespace\'s pods and of the nodes, as kubectl top shows them',
  args: noArgs,
  async run(_args, ctx): Promise<TopResult> {
    const { kube } = ctx;
    if (kube === null) return { configured: false };
    const top = await withTimeout(
      readTop(kube, ctx.config.database.namespace, AbortSignal.timeout(TOP_TIMEOUT_MS + 250)),
      TOP_TIMEOUT_MS,
      'Kubernetes',
    );
    return { configured: true, measuredAt: ctx.now(), ...top };
  },
});
