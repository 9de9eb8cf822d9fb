/**
 * Each step of a procedure in the audit log as it happens, so that a replica dying half-way
 * still leaves a record of how far it got (the approval engine records the whole report at the
 * end). Step titles and notes never hold a secret: the procedures scrub them.
 *
 *   runProcedure(procedure, state, { …, onStep: (step, total) => recordStep(ctx, 'user-create', 'reporting', step, total) });
 */
import type { ExecutionContext } from './gated.js';
import type { StepRecord } from './procedure-runner.js';

export async function recordStep(ctx: ExecutionContext, action: string, role: string, step: StepRecord, total: number): Promise<void> {
  const where = step.number === undefined ? `undo of step ${step.undoes ?? '?'}` : `step ${step.number}/${total}`;
  await ctx.recorder.record({
    actor: ctx.approver,
    kind: 'procedure.step',
    action,
    summary: `${action} ${role}, ${where}: ${step.title} — ${step.status}${step.note ? ` (${step.note})` : ''}`,
    details: { step },
    requestId: ctx.requestId,
    timeline: false,
  });
}


export function scrubStep(step: StepRecord, scrub: (text: string) => string): StepRecord {
  return { ...step, title: scrub(step.title), note: step.note === undefined ? undefined : scrub(step.note), details: step.details?.map(scrub) };
}
