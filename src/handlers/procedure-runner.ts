/**
 * The one runner for multi-step changes (restore, point-in-time restore, password rotation, image
 * update, resize…). A procedure is data: a table of steps, read top to bottom like the runbook
 * section it replaces. Each step may carry an `undo` (its compensation, run in reverse order when a
 * later step fails) or be marked `always` (it runs whatever happened before it: scale the
 * application back). The runner records every step as it goes into one report model; the view
 * (bot/views/procedure-report-view.ts) renders it, and the procedure's `conclude` turns its own
 * state and the record into the verdict and the end state, so the wording is testable from
 * states without running anything.
 *
 *   const report = await runProcedure(restoreProcedure, state, { progress: ctx.progress, log: ctx.log, stop: lock.lost });
 *   report.steps // [{ number: 1, title: 'integrity check', status: 'ok', ms: 412, note: '12 MiB, the file that was approved' }, …]
 *
 * `stop` is checked between steps, the procedure's safe points: once aborted (the operation lock
 * was lost, the bot is shutting down), no further step starts except the `always` ones. A running
 * step sees the same signal in its context and may stop early.
 */
import type { Logger } from 'pino';
import { describeFailure } from '../ops/failure.js';

export type StepStatus = 'ok' | 'failed' | 'skipped' | 'differs' | 'not-run';

/** One line of the report: a step of the table (numbered), or the undo of one (not numbered). */
export interface StepRecord {
  /** The step's place in the table, from 1; undefined for an undo. */
  number?: number;
  /** For an undo: the number of the step it undoes. */
  undoes?: number;
  title: string;
  status: StepStatus;
  ms: number;
  note?: string;
  /** Lines shown under the step (row counts, the pods of a rollout). */
  details?: string[];
}

export interface ProcedureReport {
  procedure: string;
  ok: boolean;
  /** One line: what happened, and the state things are in. */
  summary: string;
  /** In the order they ran; steps that did not run are there too, as `not-run`. */
  steps: StepRecord[];
  /** The state each thing is left in, one line each ("Database: restored from …"). */
  endState: string[];
  /** What the operator should do next, when anything is left to do. */
  next: string[];
  tookMs: number;
}

/** What a step returns: all optional; a step that returns nothing went fine under its own title. */
export interface StepDone {
  title?: string;
  status?: 'ok' | 'skipped' | 'differs';
  note?: string;
  details?: string[];
}

export interface StepContext {
  /** Progress within the step; the runner prefixes "Step 3/6: ". */
  progress(text: string): Promise<void>;
  /** The procedure's stop signal (lock lost, shutting down): long steps may stop early on it. */
  signal: AbortSignal;
  /** The sentence the runner would write for this error (scrubbed), for what a step keeps in its state. */
  reason(error: unknown): string;
}

export interface ProcedureStep<State> {
  /** Read when the step starts (or is passed over): a title may name what the state knows by then. */
  title: string | ((state: State) => string);
  /** Runs even after an earlier step failed or the procedure was stopped. */
  always?: boolean;
  run(state: State, ctx: StepContext): Promise<StepDone | void>;
  /** Compensates this step (after it went fine) when a later step fails. */
  undo?: { title: string; run(state: State, ctx: StepContext): Promise<StepDone | void> };
}

/** What the runner hands `conclude`: the record so far, and why it stopped early, if it did. */
export interface RunRecord {
  steps: readonly StepRecord[];
  failed?: { number: number; title: string; reason: string };
  /** Why no further step started (the stop signal's reason). */
  stopped?: string;
  tookMs: number;
}

export interface Conclusion {
  ok: boolean;
  summary: string;
  endState: string[];
  next?: string[];
}

export interface Procedure<State> {
  name: string;
  steps: readonly ProcedureStep<State>[];
  conclude(state: State, record: RunRecord): Conclusion;
}

export interface RunOptions {
  progress: (text: string) => Promise<void>;
  log: Logger;
  stop?: AbortSignal;
  /** Turns a step's error into its note; default describeFailure. Secrets are the caller's to scrub here. */
  reason?: (error: unknown) => string;
  /** Called with each step's record as soon as it is known (the audit log records them one by one). */
  onStep?: (record: StepRecord, total: number) => Promise<void>;
}

const MAX_REASON = 400;

export async function runProcedure<State>(procedure: Procedure<State>, state: State, options: RunOptions): Promise<ProcedureReport> {
  const started = performance.now();
  const total = procedure.steps.length;
  const stop = options.stop ?? new AbortController().signal;
  const reason = (error: unknown): string => (options.reason ?? describeFailure)(error).slice(0, MAX_REASON);
  // A progress message that cannot be shown must never fail the procedure.
  const say = (text: string): Promise<void> =>
    options.progress(text).catch((error: unknown) => options.log.warn({ err: error, procedure: procedure.name }, 'could not show progress'));
  const records: StepRecord[] = [];
  const recorded = new Set<StepRecord>();
  // A record that cannot be written must never fail the procedure.
  const note = async (): Promise<void> => {
    for (const record of records.filter((r) => !recorded.has(r))) {
      recorded.add(record);
      await options.onStep?.(record, total).catch((error: unknown) => options.log.warn({ err: error, procedure: procedure.name }, 'could not record a step'));
    }
  };
  const done: { number: number; step: ProcedureStep<State> }[] = [];
  let failed: RunRecord['failed'];
  let stopped: string | undefined;

  const attempt = async (
    label: string,
    title: string,
    work: (ctx: StepContext) => Promise<StepDone | void>,
  ): Promise<{ record: Omit<StepRecord, 'number' | 'undoes'>; error?: unknown }> => {
    await say(`${label}: ${title}…`);
    const at = performance.now();
    const ctx: StepContext = { progress: (text) => say(`${label}: ${text}`), signal: stop, reason };
    try {
      const result = (await work(ctx)) ?? {};
      return { record: { title: result.title ?? title, status: result.status ?? 'ok', ms: performance.now() - at, note: result.note, details: result.details } };
    } catch (error) {
      options.log.warn({ err: error, procedure: procedure.name, step: title }, 'procedure step failed');
      return { record: { title, status: 'failed', ms: performance.now() - at, note: reason(error) }, error };
    }
  };

  for (const [index, step] of procedure.steps.entries()) {
    const number = index + 1;
    const title = typeof step.title === 'function' ? step.title(state) : step.title;
    if (failed === undefined && stopped === undefined && stop.aborted) stopped = reason(stop.reason ?? 'the procedure was stopped');
    if ((failed !== undefined || stopped !== undefined) && !step.always) {
      records.push({ number, title, status: 'not-run', ms: 0 });
      await note();
      continue;
    }
    const { record, error } = await attempt(`Step ${number}/${total}`, title, (ctx) => step.run(state, ctx));
    records.push({ number, ...record });
    await note();
    if (error === undefined) {
      if (record.status === 'ok' || record.status === 'differs') done.push({ number, step });
      continue;
    }
    if (failed !== undefined) continue; // a later `always` step failing too: the first failure stands, nothing more is undone
    failed = { number, title, reason: record.note ?? 'failed' };
    // Compensations of what already went fine, newest first, right after the failure.
    for (const previous of done.splice(0).reverse()) {
      const undo = previous.step.undo;
      if (!undo) continue;
      const undone = await attempt(`Undoing step ${previous.number}`, undo.title, (ctx) => undo.run(state, ctx));
      records.push({ undoes: previous.number, ...undone.record });
      await note();
    }
  }
  await note();
  const tookMs = performance.now() - started;
  const conclusion = procedure.conclude(state, { steps: records, failed, stopped, tookMs });
  return {
    procedure: procedure.name,
    ok: conclusion.ok,
    summary: conclusion.summary,
    steps: records,
    endState: conclusion.endState,
    next: conclusion.next ?? [],
    tookMs,
  };
}
