/**
 * `kill <pid>` · `kill --older-than D` [--cancel]: plans exactly which backends to end (captured
 * now, with their start times), for approval; the executor ends only those that are still the
 * same backends.
 */
import { z } from 'zod';
import { formatDuration, parseDuration } from '../duration.js';
import { findBackend, findKillTargets, signalBackends, type KillTarget, type SignalResult } from '../ops/postgres/kill.js';
import { planned, type ActionOutcome, type GatedAction, type GatedResult } from './gated.js';
import { defineHandler } from './handler.js';

const DEFAULT_OLDER_THAN = '10m';

const killPlan = z.object({
  mode: z.enum(['terminate', 'cancel']),
  targets: z.array(z.object({ pid: z.number().int().positive(), backendStart: z.string().min(1) })).min(1),
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
    if (olderThan === true || olderThanMs === undefined || olderThanMs <= 0) {
      ctx.addIssue({ code: 'custom', message: '--older-than needs a duration like 30s, 10m or 2h' });
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
  async run(args, ctx): Promise<GatedResult<KillPlan>> {
    const mode = args.cancel ? 'cancel' : 'terminate';
    const verb = args.cancel ? 'cancel the running query of' : 'terminate';
    let targets: KillTarget[];
    let summary: string;
    if (args.by === 'pid') {
      const backend = await findBackend(ctx.db, args.pid);
      if (!backend) return { kind: 'nothing', message: `No client backend with pid ${args.pid} is connected to this database (or it is the bot's own).` };
      targets = [backend];
      summary = `${verb} backend ${args.pid}`;
    } else {
      targets = await findKillTargets(ctx.db, { olderThanMs: args.olderThanMs });
      const age = formatDuration(args.olderThanMs);
      if (!targets.length) return { kind: 'nothing', message: `No queries or transactions have been running longer than ${age}; nothing to kill.` };
      summary = `${verb} ${targets.length} ${targets.length === 1 ? 'backend' : 'backends'} running longer than ${age}`;
    }
    return planned('kill', summary, targets.map(describeTarget), {
      mode,
      targets: targets.map((t) => ({ pid: t.pid, backendStart: t.backendStart })),
    });
  },
});

const RESULT_TEXT: Record<SignalResult, string> = {
  terminated: 'terminated',
  cancelled: 'query cancelled',
  'already-ended': 'had already ended',
  'pid-reused': 'left alone: a different session now has this pid',
  refused: 'could not be signalled (permission?)',
};

export const killAction: GatedAction<KillPlan> = {
  action: 'kill',
  plan: killPlan,
  async execute(plan, ctx): Promise<ActionOutcome> {
    const results = await signalBackends(ctx.db, plan.targets, plan.mode);
    const done = results.filter((r) => r.result === 'terminated' || r.result === 'cancelled').length;
    const verb = plan.mode === 'cancel' ? 'cancelled' : 'terminated';
    const others = results.length - done;
    return {
      ok: results.every((r) => r.result !== 'refused'),
      summary: `${done} of ${results.length} ${verb}${others ? `; ${others} not touched` : ''}`,
      lines: results.map((r) => `pid ${r.pid}: ${RESULT_TEXT[r.result]}`),
    };
  },
};
