/**
 * `pitr`: the recoverable window of point-in-time recovery (SPEC section 12) — oldest and newest
 * point, the base backups (type, size, duration, on the current timeline's history or not), the
 * WAL archive's first and last segment — and whether the database is archiving its WAL.
 * `pitr backup [--full]`: a base backup now (incremental unless --full), with progress.
 */
import { z } from 'zod';
import { formatDuration } from '../duration.js';
import { formatBytes } from '../format.js';
import { runningOperation, describeOperation } from '../ops/operation-lock.js';
import type { ArchiverStatus } from '../ops/pitr/archiver.js';
import type { BaseBackup, WalArchive } from '../ops/pitr/pgbackrest-info.js';
import { takePitrBackup } from '../ops/pitr/pitr-backup.js';
import type { PitrServices } from '../ops/pitr/pitr-services.js';
import { readPitrState } from '../ops/pitr/pitr-state.js';
import { describeReplayPath, onLineage, type TimelineLineage } from '../ops/pitr/timeline-history.js';
import type { RecoverableWindow } from '../ops/pitr/recovery-window.js';
import { defineHandler, type HandlerContext } from './handler.js';
import { Refusal } from './refusal.js';

export const PITR_NOT_CONFIGURED =
  'Point-in-time recovery is not configured: set PGBACKREST_STANZA (and PGBACKREST_CONFIG) and run the database with pgBackRest as deploy/database/ shows.';

/** A base backup as `pitr` lists it (no LSNs: they are bigints, and the view has no use for them). */
export type PitrBackupListing = Pick<
  BaseBackup,
  'label' | 'type' | 'startedAt' | 'stoppedAt' | 'durationMs' | 'sizeBytes' | 'deltaBytes' | 'repoSizeBytes' | 'repoDeltaBytes' | 'timeline' | 'error'
> & {
  /** Recovery along the current timeline can start from it (false: a backup of an abandoned branch). */
  usable: boolean;
};

export interface PitrOverview {
  kind: 'overview';
  measuredAt: Date;
  stanza: string;
  status: { code: number; message: string; backupRunning: boolean };
  backups: PitrBackupListing[];
  archives: WalArchive[];
  window: Pick<RecoverableWindow, 'timeline' | 'oldest' | 'newest' | 'newestIsNow' | 'newestLimit'> | null;
  windowProblem?: string;
  /** "timeline 1 up to 0/6018458, then timeline 2" when the current timeline came from a restore. */
  history: string | null;
  archiver: ArchiverStatus | null;
  archiverProblem?: string;
}

export interface PitrBackupTaken {
  kind: 'backup';
  measuredAt: Date;
  backup: PitrBackupListing;
  requested: 'full' | 'incr';
  expired: string[];
  tookMs: number;
  window: PitrOverview['window'];
}

export interface PitrNotConfigured {
  kind: 'not-configured';
  message: string;
}

export type PitrResult = PitrOverview | PitrBackupTaken | PitrNotConfigured;

const pitrArgs = z.object({ positional: z.array(z.string()), flags: z.record(z.string(), z.unknown()) }).refine(
  (raw) => raw.positional.length === 0 && Object.keys(raw.flags).length === 0,
  { message: 'takes nothing (the recoverable window), or `backup [--full]`' },
);

const pitrBackupArgs = z
  .object({ positional: z.array(z.string()), flags: z.record(z.string(), z.unknown()) })
  .transform((raw, ctx): { full: boolean } => {
    if (raw.positional.length > 0 || Object.keys(raw.flags).some((f) => f !== 'full') || (raw.flags.full !== undefined && raw.flags.full !== true)) {
      ctx.addIssue({ code: 'custom', message: 'takes only `--full` (a full base backup; incremental without it)' });
      return z.NEVER;
    }
    return { full: raw.flags.full === true };
  });

export const pitrHandler = defineHandler({
  name: 'pitr',
  usage: 'pitr',
  summary: 'point-in-time recovery: the recoverable window, base backups and WAL archiving',
  args: pitrArgs,
  async run(_args, ctx): Promise<PitrResult> {
    const pitr = ctx.pitr;
    if (!pitr) return { kind: 'not-configured', message: PITR_NOT_CONFIGURED };
    return overview(pitr, ctx);
  },
});

export const pitrBackupHandler = defineHandler({
  // Named like the command so that a failure reads "`pitr` failed" whichever word followed.
  name: 'pitr',
  usage: 'pitr backup [--full]',
  summary: 'a pgBackRest base backup now (incremental unless --full), with progress',
  args: pitrBackupArgs,
  async run(args, ctx): Promise<PitrResult> {
    const pitr = ctx.pitr;
    if (!pitr) return { kind: 'not-configured', message: PITR_NOT_CONFIGURED };
    return backUp(pitr, args.full, ctx);
  },
});

async function overview(pitr: PitrServices, ctx: HandlerContext): Promise<PitrOverview> {
  const state = await readPitrState({ pitr, db: ctx.db, now: ctx.now() });
  return {
    kind: 'overview',
    measuredAt: state.measuredAt,
    stanza: pitr.stanza,
    status: state.stanza.status,
    backups: state.stanza.backups.map((b) => listing(b, state.lineage)),
    archives: state.stanza.archives,
    window: state.window && windowOf(state.window),
    windowProblem: state.lineageProblem,
    history: state.lineage && state.lineage.ancestors.length > 0 ? describeReplayPath(state.lineage, state.lineage.ancestors[0]?.timeline ?? 1) : null,
    archiver: state.archiver,
    archiverProblem: state.archiverProblem,
  };
}

async function backUp(pitr: PitrServices, full: boolean, ctx: HandlerContext): Promise<PitrBackupTaken> {
  const running = await runningOperation(ctx.state);
  if (running && running.kind !== 'maintenance') throw new Refusal(`Not now: ${describeOperation(running)} is running; take the base backup once it has finished.`);
  const type = full ? 'full' : 'incr';
  await ctx.progress(`${full ? 'Full' : 'Incremental'} base backup starting…`);
  const done = await takePitrBackup(pitr.pgbackrest, { type, signal: ctx.lifecycle.stopSignal, onProgress: (p) => ctx.progress(p.text) });
  const state = await readPitrState({ pitr, db: ctx.db, now: ctx.now() }).catch(() => null);
  const { backup } = done;
  await ctx.recorder.record({
    actor: ctx.actor.userId,
    channel: ctx.actor.channelId,
    kind: 'backup',
    action: 'pitr.backup',
    summary: `Base backup ${backup.label} (${backup.type}) taken: ${formatBytes(backup.deltaBytes)} copied, ${formatBytes(backup.repoDeltaBytes)} stored, in ${formatDuration(done.tookMs)}`,
    details: { label: backup.label, type: backup.type, requested: type, sizeBytes: backup.sizeBytes, deltaBytes: backup.deltaBytes, repoDeltaBytes: backup.repoDeltaBytes, expired: done.expired },
  });
  return {
    kind: 'backup',
    measuredAt: ctx.now(),
    backup: listing(backup, state?.lineage ?? null),
    requested: type,
    expired: done.expired,
    tookMs: done.tookMs,
    window: state?.window ? windowOf(state.window) : null,
  };
}

export function listing(b: BaseBackup, lineage: TimelineLineage | null): PitrBackupListing {
  return {
    label: b.label,
    type: b.type,
    startedAt: b.startedAt,
    stoppedAt: b.stoppedAt,
    durationMs: b.durationMs,
    sizeBytes: b.sizeBytes,
    deltaBytes: b.deltaBytes,
    repoSizeBytes: b.repoSizeBytes,
    repoDeltaBytes: b.repoDeltaBytes,
    timeline: b.timeline,
    usable: lineage === null ? true : onLineage(lineage, b),
    error: b.error,
  };
}

function windowOf(w: RecoverableWindow): PitrOverview['window'] {
  return { timeline: w.timeline, oldest: w.oldest, newest: w.newest, newestIsNow: w.newestIsNow, newestLimit: w.newestLimit };
}
