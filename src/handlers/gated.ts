/**
 * Gated (destructive) commands are two-phase. A handler's `run` is the read-only `plan`: it
 * returns the exact targets, which are stored, shown, hashed and approved. `execute` later runs
 * only that stored plan, re-validated by its schema, never re-parsed arguments.
 */
import type { z } from 'zod';
import type { Services } from '../context.js';
import type { ProcedureReport } from './procedure-runner.js';
import type { ProgressReporter } from './handler.js';

export interface PlannedAction<Plan> {
  kind: 'planned';
  action: string;
  /** One line for the request header: "terminate 2 backends running longer than 10m". */
  summary: string;
  /** One line per target, exactly as it will be acted on. */
  targets: string[];
  plan: Plan;
}

/** The plan found nothing to act on: answered directly, no approval requested. */
export interface NothingToDo {
  kind: 'nothing';
  message: string;
}

export type GatedResult<Plan> = PlannedAction<Plan> | NothingToDo;

export interface ActionOutcome {
  ok: boolean;
  summary: string;
  lines: string[];
  /** A multi-step procedure's record (procedure-runner.ts), rendered in place of `lines`. */
  report?: ProcedureReport;
}

/** The outcome of an action that is a procedure: its summary and its report. */
export function procedureOutcome(report: ProcedureReport): ActionOutcome {
  return { ok: report.ok, summary: report.summary, lines: [], report };
}

export interface ExecutionContext extends Services {
  /** Progress while the action runs (edits the request's message). */
  progress: ProgressReporter;
  /** The request being carried out, and who asked and who approved (Slack user IDs). */
  requestId: string;
  requester: string;
  approver: string;
}

export interface GatedAction<Plan> {
  action: string;
  plan: z.ZodType<Plan>;
  execute(plan: Plan, ctx: ExecutionContext): Promise<ActionOutcome>;
}

export function planned<Plan>(action: string, summary: string, targets: string[], plan: Plan): PlannedAction<Plan> {
  return { kind: 'planned', action, summary, targets, plan };
}
