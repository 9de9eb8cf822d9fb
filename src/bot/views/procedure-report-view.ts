/**
 * A procedure's report (handlers/procedure-runner.ts) as the lines an operator reads under the
 * approval request: each step with its outcome and duration, the undos, then the end state and
 * what to do next.
 *
 *   1. integrity check — ok (0.4s) · 12.0 MiB, the file that was approved
 *   3. safety backup of the current database — FAILED after 1.2s: no space left on the device
 *      ↩ undo of step 2: scale default/recipe-app 0 → 3 — ok (4.1s)
 *   4. restore — not run
 *
 *   Database: unchanged (nothing was restored)
 */
import { formatDuration } from '../../duration.js';
import type { ProcedureReport, StepRecord } from '../../handlers/procedure-runner.js';

export function procedureReportLines(report: ProcedureReport): string[] {
  const lines = report.steps.flatMap(stepLines);
  if (report.endState.length) lines.push('', ...report.endState);
  if (report.next.length) lines.push('', ...report.next.map((n) => `Next: ${n}`));
  return lines;
}

function stepLines(step: StepRecord): string[] {
  const head = step.number === undefined ? `   ↩ undo of step ${step.undoes ?? '?'}: ${step.title}` : `${step.number}. ${step.title}`;
  const took = stepDuration(step.ms);
  const line = (() => {
    switch (step.status) {
      case 'ok':
        return `${head} — ok (${took})${step.note ? ` · ${step.note}` : ''}`;
      case 'skipped':
        return `${head} — skipped${step.note ? `: ${step.note}` : ''}`;
      case 'differs':
        return `${head} — DIFFER (${took})${step.note ? `: ${step.note}` : ''}`;
      case 'failed':
        return `${head} — FAILED after ${took}${step.note ? `: ${step.note}` : ''}`;
      case 'not-run':
        return `${head} — not run`;
    }
  })();
  return [line, ...(step.details ?? [])];
}

/** Tenths of a second for short steps ("0.4s"), as operators compare them. */
export function stepDuration(ms: number): string {
  if (ms < 100) return `${Math.round(ms)}ms`;
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms);
}
