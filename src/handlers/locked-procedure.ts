/**
 * An approved procedure run under the operation lock (ops/operation-lock.ts): when another
 * operation holds it, nothing is done and the outcome says what runs; the lock's loss (and, for
 * the restores, the bot's shutdown) stops the procedure at its next step.
 *
 *   return runLockedProcedure(ctx, { kind: 'image', procedure: imageProcedure, state, untouched: ['Image: unchanged'] });
 */
import { describeFailure } from '../ops/failure.js';
import { acquireOperationLock, OperationRunningError, type OperationKind } from '../ops/operation-lock.js';
import { createScrubber } from '../redact.js';
import { procedureOutcome, type ActionOutcome, type ExecutionContext } from './gated.js';
import { runProcedure, type Procedure } from './procedure-runner.js';

export interface LockedProcedure<State> {
  kind: OperationKind;
  procedure: Procedure<State>;
  state: State;
  /** The end state when another operation runs: what stays as it was. */
  untouched: readonly string[];
  /** Named in "Run … again once the other operation has finished" (default: it). */
  again?: string;
  /** The bot's shutdown stops it too, at its next step (the restores); else only the lock's loss does. */
  stopOnShutdown?: boolean;
}

export async function runLockedProcedure<State>(ctx: ExecutionContext, run: LockedProcedure<State>): Promise<ActionOutcome> {
  let lock;
  try {
    lock = await acquireOperationLock(ctx.state, { kind: run.kind, by: ctx.approver });
  } catch (error) {
    if (!(error instanceof OperationRunningError)) throw error;
    return { ok: false, summary: `${error.message}; nothing was done`, lines: [...run.untouched, `Run ${run.again ?? 'it'} again once the other operation has finished.`] };
  }
  const scrub = createScrubber(ctx.config.secrets);
  try {
    const report = await runProcedure(run.procedure, run.state, {
      progress: ctx.progress,
      log: ctx.log,
      stop: run.stopOnShutdown ? AbortSignal.any([lock.lost, ctx.lifecycle.stopSignal]) : lock.lost,
      reason: (error) => scrub(describeFailure(error)),
    });
    return procedureOutcome(report);
  } finally {
    await lock.release();
  }
}
