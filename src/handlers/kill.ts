/**
 * `kill <pid>` · `kill --older-than D` [--cancel]: plans exactly which backends to end (captured
 * now, with their start times and what made them targets), for approval; the executor ends only
 * those that are still the same backends doing the same thing.
 */
import { z } from 'zod';
import { formatDuration, parseDuration } from '../duration.js';
import type { Queryable } from '../ops/postgres/bot-sessions.js';
import { findBackend, findKillTargets, signalBackends, type KillReason, type KillTarget, type SignalResult } from '../ops/postgres/kill.js';
import { withOperatedSession } from '../ops/postgres/reserved-session.js';
import { planned, type ActionOutcome, type GatedAction, type GatedResult } from './gated.js';
import { defineHandler } from './handler.js';

const DEFAULT_OLDER_THAN = '10m';

const killPlan = z.object({
  mode: z.enum(['terminate', 'cancel']),
  targets: z
    .array(
      z.object({
        pid: z.number().int().positive(),
        backendStart: z.string().min(1),
        reason: z.enum(['query', 'transaction', 'session']),
        since: z.string().min(1).nullable(),
      }),
    )
    .min(1),
});
export type KillPlan = z.infer<typeof killPlan>;

type KillArgs = { by: 'pid'; pid: number; cancel: boolean } | { by: 'age'; olderThanMs: number; cancel: boolean };

const killArgs = z
  .object({
    positional: z.array(z.string()).max(1, 'takes one pid or --older-than D, not both'),
    flags: z.record(z.string(), z.union([z.string(), z.literal(true)])),
  })
  .transform((raw, ctx): KillArgs => {
    const unknown = Object.keys(raw.flags).filter((f) => f !== 'older-than' && f !== 'cancel');
    if (unknown.length) {
      ctx.addIssue({ code: 'custom', message: `does not know --${unknown[0]}` });
      return z.NEVER;
    }
    const cancel = raw.flags.cancel === true;
    const [pidText] = raw.positional;
    if (pidText !== undefined) {
      if (raw.flags['older-than'] !== undefined) {
        ctx.addIssue({ code: 'custom', message: 'takes one pid or --older-than D, not both' });
        return z.NEVER;
      }
      if (!/^\d{1,9}$/.test(pidText) || Number(pidText) < 1) {
        ctx.addIssue({ code: 'custom', message: `needs a pid (a positive whole number), not "${pidText.slice(0, 20)}"` });
        return z.NEVER;
      }
      return { by: 'pid', pid: Number(pidText), cancel };
    }
    const olderThan = raw.flags['older-than'];
    const olderThanMs = parseDuration(typeof olderThan === 'string' ? olderThan : DEFAULT_OLDER_THAN);
    if (olderThan === true || olderThanMs === undefined) {
      ctx.addIssue({ code: 'custom', message: '--older-than needs a duration like 30s, 10m or 2h' });
      return z.NEVER;
    }
    if (olderThanMs <= 0) {
      ctx.addIssue({ code: 'custom', message: '--older-than must be above zero: every running query is older than 0s' });
      return z.NEVER;
    }
    return { by: 'age', olderThanMs, cancel };
  });

function describeTarget(t: KillTarget): string {
  const query = t.query.replace(/\s+/g, ' ').trim().slice(0, 120);
  return `pid ${t.pid} · ${t.user ?? '?'} · ${t.application || 'no application'} · ${t.state} ${formatDuration(t.durationSeconds * 1000)} · ${query}`;
}

export const killHandler = defineHandler({
  name: 'kill',
  usage: 'kill <pid> | kill --older-than D [--cancel]',
  summary: `end a backend, or every query/transaction running longer than D (default ${DEFAULT_OLDER_THAN}); --cancel stops only the query`,
  gated: true,
  args: killArgs,
  // When every slot is taken, kill is what frees them: it runs on the reserved session if it must.
  run: (args, ctx) => withOperatedSession(ctx.db, ctx.reserved, ({ session }) => planKill(args, session)),
});

async function planKill(args: KillArgs, db: Queryable): Promise<GatedResult<KillPlan>> {
  const mode = args.cancel ? 'cancel' : 'terminate';
  const verb = args.cancel ? 'cancel the running query of' : 'terminate';
  let targets: KillTarget[];
  let summary: string;
  if (args.by === 'pid') {
    const backend = await findBackend(db, args.pid);
    if (!backend) return { kind: 'nothing', message: `No client backend with pid ${args.pid} is connected to this database (or it is the bot's own).` };
    if (args.cancel && backend.reason !== 'query') {
      return { kind: 'nothing', message: `Backend ${args.pid} is not running a query (${backend.state || 'state unknown'}): --cancel would do nothing. Without --cancel, kill ends the session and rolls back its transaction.` };
    }
    targets = [backend];
    summary = `${verb} backend ${args.pid}`;
  } else {
    targets = await findKillTargets(db, { olderThanMs: args.olderThanMs, queriesOnly: args.cancel });
    const age = formatDuration(args.olderThanMs);
    if (!targets.length) {
      const what = args.cancel ? 'No queries have' : 'No queries or transactions have';
      return { kind: 'nothing', message: `${what} been running longer than ${age}; nothing to ${args.cancel ? 'cancel' : 'kill'}.` };
    }
    summary = `${verb} ${targets.length} ${targets.length === 1 ? 'backend' : 'backends'} running longer than ${age}`;
  }
  return planned('kill', summary, targets.map(describeTarget), {
    mode,
    targets: targets.map((t) => ({ pid: t.pid, backendStart: t.backendStart, reason: t.reason, since: t.since })),
  });
}

const RESULT_TEXT: Record<SignalResult, string> = {
  terminated: 'terminated',
  cancelled: 'query cancelled',
  'already-ended': 'had already ended',
  'pid-reused': 'left alone: a different session now has this pid',
  finished: 'already finished, left alone',
  'bot-session': "left alone: it is one of the bot's own sessions",
  refused: 'could not be signalled (permission?)',
};

/** "already finished" names what finished: the query or the transaction the approver saw. */
function resultText(result: SignalResult, reason: KillReason | undefined): string {
  if (result !== 'finished') return RESULT_TEXT[result];
  return `${reason === 'transaction' ? 'its transaction' : 'its query'} ${RESULT_TEXT.finished}`;
}

export const killAction: GatedAction<KillPlan> = {
  action: 'kill',
  plan: killPlan,
  async execute(plan, ctx): Promise<ActionOutcome> {
    const results = await withOperatedSession(ctx.db, ctx.reserved, ({ session }) => signalBackends(session, plan.targets, plan.mode));
    const reasons = new Map(plan.targets.map((t) => [t.pid, t.reason]));
    const done = results.filter((r) => r.result === 'terminated' || r.result === 'cancelled').length;
    const verb = plan.mode === 'cancel' ? 'cancelled' : 'terminated';
    const others = results.length - done;
    return {
      ok: results.every((r) => r.result !== 'refused'),
      summary: `${done} of ${results.length} ${verb}${others ? `; ${others} not touched` : ''}`,
      lines: results.map((r) => `pid ${r.pid}: ${resultText(r.result, reasons.get(r.pid))}`),
    };
  },
};
