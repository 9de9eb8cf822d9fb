/**
 * A maintenance operation made of statements (VACUUM of each table, REINDEX, an index build…) as a
 * procedure: one step per statement, run one at a time by the procedure runner in a maintenance run
 * (maintenance-run.ts), so the report says what was done, what failed and why, and what was not
 * started. A failing, cancelled or stopped statement stops the ones after it.
 *
 *   const report = await runMaintenanceStatements(ctx, info, [{ title: 'VACUUM FULL s.t', sql, relation, after }], 'VACUUM FULL of 1 table');
 */
import { formatDuration } from '../duration.js';
import { findApproval } from '../state/approvals.js';
import { procedureOutcome, type ActionOutcome, type ExecutionContext } from './gated.js';
import { Refusal } from './refusal.js';
import { runProcedure, type Conclusion, type Procedure, type ProcedureReport, type RunRecord } from './procedure-runner.js';
import { MaintenanceCancelled, withMaintenanceRun, type MaintenanceContext, type MaintenanceStatement, type RunInfo } from './maintenance-run.js';

export interface MaintenanceStep extends MaintenanceStatement {
  /** After the statement went fine: a note for its line ("12.0 MB → 8.1 MB"). */
  after?: () => Promise<string | undefined>;
}

interface State {
  cancelledBy: string | null;
}

export async function runMaintenanceStatements(
  ctx: MaintenanceContext,
  info: RunInfo,
  steps: readonly MaintenanceStep[],
  /** The whole operation in a few words: "VACUUM FULL of 2 tables". */
  what: string,
): Promise<ProcedureReport> {
  return withMaintenanceRun(ctx, info, async (run) => {
    const state: State = { cancelledBy: null };
    const procedure: Procedure<State> = {
      name: info.operation,
      steps: steps.map((step) => ({
        title: step.title,
        async run(_state, stepCtx) {
          const result = await run.execute(step, { progress: (text) => stepCtx.progress(`${step.title} — ${text}`) });
          const note = await step.after?.().catch(() => undefined);
          const notices = result.notices.slice(0, 5);
          const retried = result.attempts > 1 ? `after ${result.attempts} attempts` : undefined;
          return { note: [note, retried].filter(Boolean).join(' · ') || undefined, details: notices.length ? notices.map((n) => `   ${n}`) : undefined };
        },
      })),
      conclude: (s, record) => concludeMaintenance(what, steps.length, { ...s, cancelledBy: run.cancelledBy }, record),
    };
    return runProcedure(procedure, state, {
      progress: (text) => run.progress(text),
      log: ctx.log,
      stop: run.stop,
    });
  });
}

/** The verdict from the record alone (pure): done, failed, cancelled or stopped, and what is left. */
export function concludeMaintenance(what: string, total: number, state: State, record: RunRecord): Conclusion {
  const steps = record.steps.filter((s) => s.number !== undefined);
  const done = steps.filter((s) => s.status === 'ok');
  const notRun = steps.filter((s) => s.status === 'not-run');
  const took = formatDuration(record.tookMs);
  if (!record.failed && !record.stopped) {
    return { ok: true, summary: `${what}: done in ${took}`, endState: [] };
  }
  const count = `${done.length} of ${total} done`;
  const endState = [
    ...(done.length ? [`Done: ${done.map((s) => s.title).join(', ')}`] : []),
    ...(record.failed ? [`Not done: ${record.failed.title} (a statement that fails or is cancelled changes nothing)`] : []),
    ...(notRun.length ? [`Not started: ${notRun.map((s) => s.title).join(', ')}`] : []),
  ];
  if (state.cancelledBy !== null) {
    return { ok: false, summary: `${what}: ${new MaintenanceCancelled(state.cancelledBy).message} (${count})`, endState };
  }
  if (record.failed) {
    const lock = /could not get its lock/.test(record.failed.reason);
    return {
      ok: false,
      summary: `${what}: ${record.failed.title} ${lock ? 'could not get its lock' : 'failed'} (${count})`,
      endState,
      next: lock ? ['see who holds the lock with `locks`; once it is released (or ended with `kill <pid>`), run the command again'] : [],
    };
  }
  return { ok: false, summary: `${what}: ${record.stopped ?? 'stopped'} (${count})`, endState };
}

/**
 * A gated maintenance operation, run by its approval: the progress (with Cancel) goes to the
 * request's message; a database busy with another operation is an outcome, not a crash.
 */
export async function runApprovedMaintenance(ctx: ExecutionContext, operation: string, what: string, steps: readonly MaintenanceStep[]): Promise<ActionOutcome> {
  const request = await findApproval(ctx.state, ctx.requestId);
  try {
    const report = await runMaintenanceStatements(
      ctx,
      { operation, summary: what, requester: ctx.requester, channel: request?.channel ?? '', requestId: ctx.requestId, by: ctx.approver },
      steps,
      what,
    );
    return procedureOutcome(report);
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, summary: error.message, lines: [] };
    throw error;
  }
}
