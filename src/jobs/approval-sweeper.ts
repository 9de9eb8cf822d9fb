/**
 * Every replica sweeps the approval requests: overdue ones expire, approved actions whose replica
 * died are reported interrupted. Each request is handled once across replicas (the engine's
 * conditional updates); its message is redrawn through a notice.
 *
 *   const sweeper = startApprovalSweeper(services); // src/jobs/start-jobs.ts
 *   sweeper.stop();
 */
import type { Services } from '../context.js';
import { expireApprovals, reportInterruptedActions } from '../handlers/approval-engine.js';

export interface ApprovalSweeper {
  sweep(): Promise<void>;
  stop(): void;
}

export function startApprovalSweeper(services: Services): ApprovalSweeper {
  const every = Math.min(30_000, Math.max(250, services.config.approvalTtlMs / 4));
  let running: Promise<void> | undefined;
  const sweepOnce = async (): Promise<void> => {
    try {
      for (const request of await expireApprovals(services)) await services.notices.publish({ kind: 'approval-changed', request });
      for (const request of await reportInterruptedActions(services)) await services.notices.publish({ kind: 'approval-changed', request });
    } catch (error) {
      services.log.warn({ err: error }, 'approval sweep failed');
    }
  };
  const sweep = (): Promise<void> => (running ??= sweepOnce().finally(() => (running = undefined)));
  const timer = setInterval(() => void sweep(), every);
  timer.unref();
  void sweep();
  return { sweep, stop: () => clearInterval(timer) };
}
