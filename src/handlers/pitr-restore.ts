/**
 * `restore --to-time <time>` (SPEC section 12): plans a point-in-time restore. The time is an ISO
 * time with its offset or a time ago, resolved to UTC here and shown so; the plan names the base
 * backup recovery starts from (the newest on the database's timeline history that ended before
 * the time), the WAL it replays, what is discarded, and everything it stops. A time outside the
 * recoverable window, or one the bot would have to guess the zone of, is refused before any
 * approval is requested. `--timeline N` recovers along another timeline's history: the one a
 * previous restore left, to undo it. The executor is pitr-restore-procedure.ts.
 *
 * The `restore` command word is shared with the dump restore (restore.ts): its argument parsing
 * sends `--to-time` here (routeToTime).
 */
import { z } from 'zod';
import { formatBytes, formatTime } from '../format.js';
import { readReplicas } from '../ops/kube/deployments.js';
import type { Kube } from '../ops/kube/kube-client.js';
import { kubeCall } from '../ops/kube/kube-failure.js';
import { pitrRestoreArgs as restoreCommandArgs } from '../ops/pitr/data-directory.js';
import { readPitrState } from '../ops/pitr/pitr-state.js';
import { chooseBaseBackup } from '../ops/pitr/recovery-window.js';
import { describeTargetSpec, parseTargetTime, resolveTargetTime, type RecoveryTarget, type TargetTimeSpec } from '../ops/pitr/target-time.js';
import { describeReplayPath } from '../ops/pitr/timeline-history.js';
import { formatLsn, segmentsBetween, WAL_SEGMENT_BYTES } from '../ops/pitr/wal.js';
import { planned, type GatedAction, type GatedResult } from './gated.js';
import type { HandlerContext, RawArgs } from './handler.js';
import { PITR_NOT_CONFIGURED } from './pitr.js';
import { runPitrRestoreProcedure } from './pitr-restore-procedure.js';
import { pitrRestorePlan, type PitrRestorePlan } from './pitr-restore-plan.js';
import { Refusal } from './refusal.js';

export const PITR_RESTORE_USAGE = 'restore --to-time <time> [--timeline N]';

export interface PitrRestoreArgs {
  kind: 'to-time';
  spec: TargetTimeSpec;
  timeline?: number;
}

const rawArgs = z.object({ positional: z.array(z.string()), flags: z.record(z.string(), z.unknown()) });

export const pitrRestoreArgs = rawArgs.transform((raw, ctx): PitrRestoreArgs => {
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  const unknown = Object.keys(raw.flags).filter((f) => f !== 'to-time' && f !== 'timeline');
  if (unknown.length) return fail(`--to-time takes only --timeline besides, not --${unknown[0] ?? ''}`);
  const value = raw.flags['to-time'];
  const typed = [typeof value === 'string' ? value : '', ...raw.positional].join(' ');
  const parsed = parseTargetTime(typed);
  if (parsed.kind === 'invalid') return fail(parsed.reason);
  const timeline = raw.flags.timeline;
  if (timeline === undefined) return { kind: 'to-time', spec: parsed };
  if (typeof timeline !== 'string' || !/^[1-9]\d{0,7}$/.test(timeline)) return fail('--timeline takes a timeline number, e.g. --timeline 1');
  return { kind: 'to-time', spec: parsed, timeline: Number(timeline) };
});

export function isPitrRestore(args: unknown): args is PitrRestoreArgs {
  return typeof args === 'object' && args !== null && (args as { kind?: unknown }).kind === 'to-time';
}

/** The `restore` command's arguments: `--to-time` is a point-in-time restore, anything else goes to `others`. */
export function routeToTime<T>(others: z.ZodType<T>): z.ZodType<PitrRestoreArgs | T> {
  return z.unknown().transform((raw, ctx): PitrRestoreArgs | T => {
    const flags = (raw as Partial<RawArgs> | null)?.flags;
    const parsed = flags !== undefined && 'to-time' in flags ? pitrRestoreArgs.safeParse(raw) : others.safeParse(raw);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
    return z.NEVER;
  });
}

export async function planPitrRestore(args: PitrRestoreArgs, ctx: HandlerContext): Promise<GatedResult<PitrRestorePlan>> {
  const pitr = ctx.pitr;
  if (!pitr) throw new Refusal(PITR_NOT_CONFIGURED);
  const kube = ctx.kube;
  if (!pitr.dataDirectory || !kube) {
    throw new Refusal('Cannot restore to a point in time: Kubernetes is not configured, so the bot can neither stop the database nor have the restore run on its volume. Nothing was touched.');
  }
  const now = ctx.now();
  const target = resolveTargetTime(args.spec, now);
  const at = formatTarget(target);
  function refuse(reason: string): never {
    throw new Refusal(`Cannot restore to ${at}: ${reason}. Nothing was touched and no approval was requested.`);
  }
  await ctx.progress(`Reading the recoverable window for ${at}…`);
  const state = await readPitrState({ pitr, db: ctx.db, now, timeline: args.timeline });
  if (state.archiver === null || state.currentTimeline === null) {
    refuse(`the database does not answer (${state.archiverProblem ?? 'it is in recovery'}), so the bot can neither archive its latest WAL nor record a safety point first`);
  }
  const { window, lineage } = state;
  if (window === null || lineage === null) refuse(state.lineageProblem ?? 'the recoverable window could not be read');
  const choice = chooseBaseBackup(window, target, now);
  if (!choice.ok) refuse(choice.reason);
  const { backup } = choice;

  const app = ctx.config.app;
  const database = { namespace: ctx.config.database.namespace, deployment: ctx.config.database.deployment };
  const appReplicas = await replicasOf(kube, app.namespace, app.deployment, 'APP_NAMESPACE/APP_DEPLOYMENT');
  const databaseReplicas = await replicasOf(kube, database.namespace, database.deployment, 'RECIPEDB_NAMESPACE/RECIPEDB_DEPLOYMENT');
  if (databaseReplicas === 0) refuse(`the database deployment ${database.namespace}/${database.deployment} is at 0 replicas`);

  const currentWal = state.archiver?.currentWal ?? backup.stopWal;
  const segments = segmentsBetween(backup.startWal, currentWal);
  const timeline = lineage.timeline;
  const plan: PitrRestorePlan = {
    target: { pg: target.pg, iso: target.iso, epochMs: target.epochMs },
    typed: describeTargetSpec(args.spec),
    backup: { label: backup.label, type: backup.type, stoppedAt: backup.stoppedAt.toISOString(), startWal: backup.startWal, stopLsn: formatLsn(backup.stopLsn), timeline: backup.timeline },
    timeline,
    fromTimeline: state.currentTimeline ?? timeline,
    app: { namespace: app.namespace, deployment: app.deployment },
    database,
  };
  const appLine =
    appReplicas === 0
      ? `application ${app.namespace}/${app.deployment}: already at 0 replicas, left at 0`
      : `application ${app.namespace}/${app.deployment}: ${appReplicas} → 0 replicas during the restore, then back to ${appReplicas}`;
  const otherTimeline = timeline !== plan.fromTimeline ? ` (the database is on timeline ${plan.fromTimeline}; --timeline ${timeline} takes it back along timeline ${timeline}'s history)` : '';
  const command = pitr.pgbackrest.describe(restoreCommandArgs({ id: 'planned', target: target.pg, set: backup.label, timeline }));
  return planned(
    'pitr-restore',
    `restore the whole database server to its state at ${at}`,
    [
      `database server of ${databaseName(ctx.databaseUrl)} (every database on it) ← its state at ${at}${args.spec.kind === 'ago' ? ` (${plan.typed})` : ''}${otherTimeline}`,
      `base backup ${backup.label} (${backup.type}, ended ${formatTime(backup.stoppedAt)}, database ${formatBytes(backup.sizeBytes)}), taken on timeline ${backup.timeline}`,
      `WAL replayed from ${backup.startWal} along ${describeReplayPath(lineage, backup.timeline)}, up to ${at}: at most ${segments} segments (${formatBytes(segments * WAL_SEGMENT_BYTES)}) to ${currentWal}`,
      `discarded: everything written after ${at}; a safety point (time, LSN, timeline) is recorded and archived first, so this can be undone`,
      appLine,
      `database deployment ${database.namespace}/${database.deployment}: ${databaseReplicas} → 0 (every session is cut) while the restore runs in ${pitr.dataDirectory.where}, then back to ${databaseReplicas}; it recovers onto a new timeline`,
      `runs: ${command}`,
    ],
    plan,
  );
}

export const pitrRestoreAction: GatedAction<PitrRestorePlan> = {
  action: 'pitr-restore',
  plan: pitrRestorePlan,
  execute: (plan, ctx) => runPitrRestoreProcedure(plan, ctx),
};

/** "2026-12-03 12:10:23.555 UTC": the target to its last digit, never rounded to the second. */
export function formatTarget(target: Pick<RecoveryTarget, 'pg'>): string {
  return target.pg.replace(/\+00$/, ' UTC');
}

async function replicasOf(kube: Kube, namespace: string, deployment: string, variables: string): Promise<number> {
  return kubeCall(readReplicas(kube, namespace, deployment), {
    what: `read the deployment ${namespace}/${deployment}`,
    notFound: `the deployment ${namespace}/${deployment} does not exist in Kubernetes: fix ${variables}`,
  });
}

function databaseName(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
  } catch {
    return 'the operated database';
  }
}
