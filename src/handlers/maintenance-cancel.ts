/**
 * The Cancel button of a running maintenance operation, from any replica: only the requester or an
 * approver may press it; the run is marked in the state database (its replica then starts no
 * further statement) and its current statement is cancelled at once with pg_cancel_backend of the
 * maintenance session (found by pid and start time). The running replica reports the outcome.
 *
 *   await cancelMaintenance(services, { runId: 'm-1a2b3c', userId: 'U_BOB' }) // { kind: 'cancelling', run }
 */
import type { Services } from '../context.js';
import { cancelMaintenanceSession } from '../ops/postgres/maintenance-session.js';
import { findMaintenanceRun, latestUnfinishedMaintenanceRun, requestRunCancel, type MaintenanceRun } from '../state/maintenance-runs.js';

export type CancelResult = { kind: 'cancelling'; run: MaintenanceRun } | { kind: 'denied'; reason: string };

export async function cancelMaintenance(services: Services, input: { runId: string; userId: string }): Promise<CancelResult> {
  const run = await findMaintenanceRun(services.state, input.runId);
  if (!run) return { kind: 'denied', reason: 'This maintenance operation is not known; nothing was cancelled.' };
  if (run.finishedAt) return { kind: 'denied', reason: 'This maintenance operation has already finished; nothing was cancelled.' };
  const mayCancel = run.requester === input.userId || services.config.approvers.includes(input.userId);
  if (!mayCancel) {
    const approvers = services.config.approvers.map((u) => `@${u}`).join(', ');
    return { kind: 'denied', reason: `You cannot cancel this: only @${run.requester}${approvers ? ` or the approvers (${approvers})` : ''} can.` };
  }
  const marked = await requestRunCancel(services.state, run.id, input.userId);
  if (!marked) return { kind: 'denied', reason: 'This maintenance operation has already finished; nothing was cancelled.' };
  if (marked.session) await cancelMaintenanceSession(services.db, marked.session);
  await services.recorder.record({
    actor: input.userId,
    channel: run.channel,
    kind: 'maintenance',
    action: `${run.operation} cancel`,
    summary: `asked to cancel ${run.summary}${marked.cancelRequestedBy !== input.userId ? ` (already asked by @${marked.cancelRequestedBy})` : ''}`,
    requestId: run.requestId ?? undefined,
  });
  return { kind: 'cancelling', run: marked };
}

/** The console's Cancel (it has no buttons): the maintenance operation running now, whichever it is. */
export async function cancelRunningMaintenance(services: Services, userId: string): Promise<CancelResult> {
  const run = await latestUnfinishedMaintenanceRun(services.state);
  if (!run) return { kind: 'denied', reason: 'No maintenance operation is running; nothing was cancelled.' };
  return cancelMaintenance(services, { runId: run.id, userId });
}
