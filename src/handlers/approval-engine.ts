/**
 * The approval engine: who may decide, the one-time transition, execution of the stored plan and
 * the record of every step. It knows nothing about what an action does: executors are looked up
 * by name in the registry it is given.
 *
 *   const request = await requestApproval(services, actor, planned);
 *   const result = await decide(services, registry, { id, userId: 'U_BOB', decision: 'approve' }, onUpdate);
 */
import type { Actor, Services } from '../context.js';
import {
  decideApproval, expireDueApprovals, findApproval, insertApproval, markInterruptedApprovals, planMatches, recordApprovalOutcome,
  setApprovalMessage, type ApprovalRequest,
} from '../state/approvals.js';
import { describeFailure } from '../ops/failure.js';
import { createScrubber } from '../redact.js';
import type { ActionOutcome, GatedAction, PlannedAction } from './gated.js';
import { Refusal } from './refusal.js';
import type { ProcedureReport } from './procedure-runner.js';
import type { ProgressReporter } from './handler.js';

/** What is stored as the request's plan: the targets as shown, and the plan the executor receives. */
export interface StoredPlan {
  targets: string[];
  plan: unknown;
}

export type ActionRegistry = ReadonlyMap<string, GatedAction<unknown>>;

export type Decision = 'approve' | 'reject';

export type DecisionResult =
  | { kind: 'denied'; reason: string; request: ApprovalRequest | null }
  | { kind: 'too-late'; reason: string; request: ApprovalRequest }
  | { kind: 'decided'; request: ApprovalRequest; unrecordedOutcome?: ActionOutcome };

/** What the request's message shows besides the stored request. */
export interface RequestUpdate {
  /** While the approved action runs. */
  progress?: string;
  /** The action ran, but its outcome could not be written to the state database yet (it is retried). */
  unrecordedOutcome?: ActionOutcome;
  /** A **Cancel** button for the running maintenance (its run id). */
  cancelRun?: string;
}

/** Re-renders the request's message; called after each change (decided, progress, outcome). */
export type OnRequestChange = (request: ApprovalRequest, update?: RequestUpdate) => Promise<void>;

/** First wait before writing an unrecorded outcome again; it doubles up to the maximum. */
const OUTCOME_RETRY_FIRST_MS = 1_000;
const OUTCOME_RETRY_MAX_MS = 30_000;

export function storedPlanOf(request: ApprovalRequest): StoredPlan {
  return request.plan as StoredPlan;
}

export function outcomeOf(request: ApprovalRequest): ActionOutcome | null {
  return (request.outcome as ActionOutcome | null) ?? null;
}

/** Refuses before any planning when nobody could approve. */
export function assertApproversConfigured(services: Services): void {
  if (services.config.approvers.length === 0) {
    throw new Refusal('Destructive commands are disabled: no approvers are configured (set APPROVERS to the Slack user IDs who may approve).');
  }
}

export async function requestApproval(services: Services, actor: Actor, planned: PlannedAction<unknown>): Promise<ApprovalRequest> {
  assertApproversConfigured(services);
  const stored: StoredPlan = { targets: planned.targets, plan: planned.plan };
  const request = await insertApproval(services.state, {
    action: planned.action,
    summary: planned.summary,
    plan: stored,
    planKey: services.config.planKey,
    requester: actor.userId,
    channel: actor.channelId,
    ttlMs: services.config.approvalTtlMs,
  });
  services.metrics.approvals.inc({ decision: 'requested' });
  await services.recorder.record({
    actor: actor.userId,
    channel: actor.channelId,
    kind: 'approval.requested',
    action: planned.action,
    summary: `requested approval to ${planned.summary}`,
    details: { targets: planned.targets, planHash: request.planHash, expiresAt: request.expiresAt.toISOString() },
    requestId: request.id,
  });
  return request;
}

/** Remembers where the request was posted, so any replica can edit it later. */
export async function attachApprovalMessage(services: Services, id: string, messageTs: string): Promise<void> {
  await setApprovalMessage(services.state, id, messageTs);
}

export async function decide(
  services: Services,
  registry: ActionRegistry,
  input: { id: string; userId: string; decision: Decision },
  redraw: OnRequestChange,
): Promise<DecisionResult> {
  // A message that cannot be redrawn must never stop a decided action from running (or report).
  const onChange: OnRequestChange = (request, update) =>
    redraw(request, update).catch((error: unknown) => services.log.warn({ err: error, requestId: request.id }, 'could not redraw the approval request'));
  const { state, config } = services;
  const current = await findApproval(state, input.id);
  if (!current) return { kind: 'denied', reason: 'This approval request does not exist.', request: null };
  const isRequester = current.requester === input.userId;
  const isApprover = config.approvers.includes(input.userId);

  if (input.decision === 'approve' && isRequester) {
    return { kind: 'denied', reason: 'You cannot approve your own request: another approver must. (You may reject it to cancel.)', request: current };
  }
  if (!isApprover && !isRequester) {
    return { kind: 'denied', reason: `You cannot ${input.decision} this: only the approvers (${config.approvers.map((u) => `@${u}`).join(', ')}) can.`, request: current };
  }
  const status = input.decision === 'approve' ? 'approved' : isRequester ? 'cancelled' : 'rejected';
  const decided = await decideApproval(state, input.id, status, input.userId, services.instance);
  if (!decided) {
    const latest = (await expireIfDue(services, current)) ?? (await findApproval(state, input.id)) ?? current;
    if (latest.status === 'expired') await onChange(latest);
    return { kind: 'too-late', reason: tooLateReason(latest), request: latest };
  }
  services.metrics.approvals.inc({ decision: status });
  await services.recorder.record({
    actor: input.userId,
    channel: decided.channel,
    kind: `approval.${status}`,
    action: decided.action,
    summary: `${status} the request to ${decided.summary}${isRequester ? ' (by the requester)' : ` requested by @${decided.requester}`}`,
    requestId: decided.id,
  });
  await onChange(decided);
  if (status !== 'approved') return { kind: 'decided', request: decided };
  return { kind: 'decided', ...(await execute(services, registry, decided, onChange)) };
}

async function execute(
  services: Services,
  registry: ActionRegistry,
  request: ApprovalRequest,
  onChange: OnRequestChange,
): Promise<{ request: ApprovalRequest; unrecordedOutcome?: ActionOutcome }> {
  const scrub = createScrubber(services.config.secrets);
  // Outcomes quote tool output (psql, pg_dump, Kubernetes): nothing secret may reach the message.
  const raw = await runExecutor(services, registry, request, (text, options) => onChange(request, { progress: scrub(text), cancelRun: options?.cancelRun }));
  const outcome: ActionOutcome = {
    ok: raw.ok,
    summary: scrub(raw.summary),
    lines: raw.lines.map(scrub),
    report: raw.report && scrubReport(raw.report, scrub),
  };
  try {
    const done = await recordOutcome(services, request, outcome);
    await onChange(done);
    return { request: done };
  } catch (error) {
    // The action ran: saying "nothing was changed, try again" would invite running it twice.
    services.log.error({ err: error, requestId: request.id, outcome }, 'the action ran, but its outcome could not be written to the state database; retrying');
    await onChange(request, { unrecordedOutcome: outcome });
    void services.lifecycle.track(retryOutcome(services, request, outcome, onChange));
    return { request, unrecordedOutcome: outcome };
  }
}

/** Writes the outcome until the state database takes it (or the process is told to stop). */
async function retryOutcome(services: Services, request: ApprovalRequest, outcome: ActionOutcome, onChange: OnRequestChange): Promise<void> {
  const stop = services.lifecycle.stopSignal;
  let waitMs = OUTCOME_RETRY_FIRST_MS;
  for (let attempt = 2; !stop.aborted; attempt++) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      stop.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
    if (stop.aborted) break;
    try {
      const done = await recordOutcome(services, request, outcome);
      services.log.info({ requestId: request.id, attempt }, 'the outcome of the approved action is recorded now');
      await onChange(done);
      return;
    } catch (error) {
      services.log.warn({ err: error, requestId: request.id, attempt }, 'the outcome of the approved action still cannot be written; retrying');
      waitMs = Math.min(waitMs * 2, OUTCOME_RETRY_MAX_MS);
    }
  }
  // Another replica will report the action as interrupted; the log keeps what is known.
  services.log.error({ requestId: request.id, outcome }, 'stopping before the outcome of the approved action could be written');
}

/** The request's stored outcome and its audit entry; safe to repeat (the outcome is the same). */
async function recordOutcome(services: Services, request: ApprovalRequest, outcome: ActionOutcome): Promise<ApprovalRequest> {
  const done = await recordApprovalOutcome(services.state, request.id, outcome);
  await services.recorder.record({
    actor: request.decidedBy ?? 'unknown',
    channel: request.channel,
    kind: outcome.ok ? 'action.executed' : 'action.failed',
    action: request.action,
    summary: `${request.action}: ${outcome.summary}`,
    details: { lines: outcome.lines, steps: outcome.report?.steps, endState: outcome.report?.endState, requester: request.requester, approver: request.decidedBy },
    requestId: request.id,
  });
  return done;
}

/** The report with every text passed through `scrub` (procedures also scrub the secrets only they know). */
export function scrubReport(report: ProcedureReport, scrub: (text: string) => string): ProcedureReport {
  return {
    ...report,
    summary: scrub(report.summary),
    steps: report.steps.map((step) => ({ ...step, title: scrub(step.title), note: step.note && scrub(step.note), details: step.details?.map(scrub) })),
    endState: report.endState.map(scrub),
    next: report.next.map(scrub),
  };
}

async function runExecutor(
  services: Services,
  registry: ActionRegistry,
  request: ApprovalRequest,
  progress: ProgressReporter,
): Promise<ActionOutcome> {
  const executor = registry.get(request.action);
  if (!executor) return { ok: false, summary: `no executor for the action "${request.action}"; nothing was done`, lines: [] };
  const stored = storedPlanOf(request);
  // The stored plan is what was approved: refuse anything that no longer matches its keyed hash.
  if (!planMatches(services.config.planKey, request)) {
    services.log.error({ requestId: request.id }, 'the stored plan does not match its HMAC: it was changed in the state database, or the plan key changed');
    return { ok: false, summary: 'the stored plan does not match what was approved; nothing was done', lines: [] };
  }
  const parsed = executor.plan.safeParse(stored.plan);
  if (!parsed.success) return { ok: false, summary: 'the stored plan is not valid for this action; nothing was done', lines: [] };
  try {
    return await executor.execute(parsed.data, { ...services, progress, requestId: request.id, requester: request.requester, approver: request.decidedBy ?? 'unknown' });
  } catch (error) {
    services.log.error({ err: error, requestId: request.id }, 'approved action failed');
    return { ok: false, summary: `failed: ${describeFailure(error)}`, lines: [] };
  }
}

async function expireIfDue(services: Services, request: ApprovalRequest): Promise<ApprovalRequest | null> {
  if (request.status !== 'pending') return null;
  const expired = await expireApprovals(services);
  return expired.find((r) => r.id === request.id) ?? null;
}

/** Marks overdue requests expired (each exactly once, across replicas) and records it. */
export async function expireApprovals(services: Services): Promise<ApprovalRequest[]> {
  const expired = await expireDueApprovals(services.state);
  for (const request of expired) {
    services.metrics.approvals.inc({ decision: 'expired' });
    await services.recorder.record({
      actor: 'recipedb-ops',
      channel: request.channel,
      kind: 'approval.expired',
      action: request.action,
      summary: `the request to ${request.summary} expired without a decision`,
      requestId: request.id,
    });
  }
  return expired;
}

/** Approved actions whose replica died before reporting: said so (once, across replicas) and recorded. */
export async function reportInterruptedActions(services: Services): Promise<ApprovalRequest[]> {
  const interrupted = await markInterruptedApprovals(services.state, services.config.replicaTimeoutMs, (replica): ActionOutcome => ({
    ok: false,
    summary: `interrupted: the bot replica running it (${replica}) stopped before it reported how it went; check the result (\`status\`, \`backups\`, \`audit\`) before running it again`,
    lines: [],
  }));
  for (const request of interrupted) {
    await services.recorder.record({
      actor: 'recipedb-ops',
      channel: request.channel,
      kind: 'action.interrupted',
      action: request.action,
      summary: `${request.action}: ${outcomeOf(request)?.summary ?? 'interrupted'}`,
      requestId: request.id,
    });
  }
  return interrupted;
}

function tooLateReason(request: ApprovalRequest): string {
  switch (request.status) {
    case 'expired':
      return 'This request has expired; nothing was done. Run the command again to make a new one.';
    case 'pending':
      return 'This request could not be decided; try again.';
    default:
      return `This request was already ${request.status}${request.decidedBy ? ` by @${request.decidedBy}` : ''}.`;
  }
}
