/**
 * The approved point-in-time restore, as a table of steps (procedure-runner.ts) under the
 * operation lock (kind `pitr-restore`):
 *
 *   1. check the plan still holds (the base backup is there, the database on the planned timeline, archiving works)
 *   2. scale the application to 0 (app-scale-steps.ts: its replicas written in app_scale_downs
 *      first, so that a surviving replica scales it back if this one dies mid-procedure)
 *   3. record the safety point: time, LSN, timeline, restore point, a commit after it, its WAL archived
 *   4. stop the database (its deployment to 0, its replicas written in app_scale_downs first as
 *      kind `database`: a surviving replica does not start it, but says it was left at 0, or that
 *      the restore goes on in its pod) and wait until it no longer answers
 *   5. restore the data directory to the target (pgbackrest restore --delta --type=time …), through DataDirectory
 *   6. start the database (always, once stopped) and wait until recovery has ended on a new timeline;
 *      only then is the database row of step 4 removed (a replica dying before that leaves the
 *      application held back until the database has promoted: jobs/app-scale-recovery.ts)
 *   7. row counts of VERIFY_TABLES, against those at the safety point
 *   8. scale the application back (always, once stopped; app-scale-steps.ts)
 *
 * The wording of the verdict and end state comes from `conclude`, a function of the state alone.
 */
import { formatDuration } from '../duration.js';
import { formatCount } from '../format.js';
import { countRowsReadOnly, type RowCounts } from '../ops/backup/count-rows.js';
import { describeFailure, failure } from '../ops/failure.js';
import { readReplicas, setReplicas } from '../ops/kube/deployments.js';
import type { Kube } from '../ops/kube/kube-client.js';
import { kubeCall } from '../ops/kube/kube-failure.js';
import { followReplicas } from '../ops/kube/rollout.js';
import type { DataDirectory, PitrRestoreRequest } from '../ops/pitr/data-directory.js';
import { onLineage } from '../ops/pitr/timeline-history.js';
import { readPitrState } from '../ops/pitr/pitr-state.js';
import type { PitrServices } from '../ops/pitr/pitr-services.js';
import { waitForPromotion, waitUntilDown, type Promoted } from '../ops/pitr/recovery-wait.js';
import { recordSafetyPoint, type SafetyPoint } from '../ops/pitr/safety-point.js';
import { withConnection } from '../ops/postgres/databases.js';
import { forgetScaleDown, leftoverScaleDown, rememberScaleDown } from '../state/app-scale-downs.js';
import {
  applicationInTrouble,
  applicationLine,
  applicationNext,
  applicationScaling,
  scaleApplicationBackStep,
  shortApplication,
  stopApplicationStep,
  STOP_TIMEOUT_MS,
  type AppScaling,
} from './app-scale-steps.js';
import type { ActionOutcome, ExecutionContext } from './gated.js';
import { runLockedProcedure } from './locked-procedure.js';
import type { Conclusion, Procedure, RunRecord, StepDone } from './procedure-runner.js';
import { RESTORE_UNTOUCHED } from './restore-procedure.js';
import type { PitrRestorePlan } from './pitr-restore-plan.js';

const ARCHIVE_TIMEOUT_MS = 2 * 60_000;
const SERVER_LOG_LINES = 30;

export interface PitrRestoreState {
  plan: PitrRestorePlan;
  ctx: ExecutionContext;
  kube: Kube;
  pitr: PitrServices;
  dataDirectory: DataDirectory;
  restoreTimeoutMs: number;
  /** The application around the restore, as the dump restore stops and scales it back. */
  app: AppScaling;
  safety?: SafetyPoint;
  countsBefore?: RowCounts;
  databaseReplicas?: number;
  databaseStopped: boolean;
  /** The restore of the data directory finished. */
  restored: boolean;
  /** The database answers again (after a restore: promoted on a new timeline). */
  started?: Promoted;
  startProblem?: string;
}

export async function runPitrRestoreProcedure(plan: PitrRestorePlan, ctx: ExecutionContext): Promise<ActionOutcome> {
  const { pitr, kube } = ctx;
  if (!pitr?.dataDirectory || !kube || !ctx.config.pitr) {
    return { ok: false, summary: 'point-in-time recovery is no longer configured on this replica; nothing was done', lines: [...RESTORE_UNTOUCHED] };
  }
  const state: PitrRestoreState = {
    plan,
    ctx,
    kube,
    pitr,
    dataDirectory: pitr.dataDirectory,
    restoreTimeoutMs: ctx.config.pitr.restoreTimeoutMs,
    app: applicationScaling(plan.app, { kubeConfigured: true, scalableDeployments: ctx.config.scalableDeployments }),
    databaseStopped: false,
    restored: false,
  };
  return runLockedProcedure(ctx, { kind: 'pitr-restore', procedure: pitrRestoreProcedure(ctx), state, untouched: RESTORE_UNTOUCHED, again: 'the restore', stopOnShutdown: true });
}

const at = (s: PitrRestoreState): string => s.plan.target.pg.replace(/\+00$/, ' UTC');
const databaseName = (s: PitrRestoreState): string => `${s.plan.database.namespace}/${s.plan.database.deployment}`;

export function pitrRestoreProcedure(ctx: ExecutionContext): Procedure<PitrRestoreState> {
  const app = { kube: ctx.kube, state: ctx.state, instance: ctx.instance, operation: 'pitr-restore', requestId: ctx.requestId, approvedBy: ctx.approver, notStopped: 'nothing was restored' };
  return {
    name: 'pitr-restore',
    steps: [
      {
        title: 'check the plan still holds',
        async run(s): Promise<StepDone> {
          const { plan, ctx } = s;
          const state = await readPitrState({ pitr: s.pitr, db: ctx.db, now: ctx.now(), timeline: plan.timeline });
          if (state.archiver === null) throw failure(`the database does not answer (${state.archiverProblem ?? '?'}); nothing was touched`);
          if (state.currentTimeline !== plan.fromTimeline) {
            throw failure(`the database is on timeline ${state.currentTimeline ?? '?'} now, not ${plan.fromTimeline} as planned (another restore ran meanwhile): request the restore again`);
          }
          if (!state.archiver.healthy) throw failure(`${state.archiver.problem ?? 'WAL archiving is not working'}; nothing was touched`);
          const backup = state.stanza.backups.find((b) => b.label === plan.backup.label);
          if (!backup) throw failure(`the base backup ${plan.backup.label} is no longer in the repository (expired by retention?): request the restore again`);
          if (state.lineage && !onLineage(state.lineage, backup)) throw failure(`the base backup ${plan.backup.label} is not on timeline ${plan.timeline}'s history`);
          return { note: `base backup ${plan.backup.label} is there, the database is on timeline ${plan.fromTimeline}, archiving works` };
        },
      },
      stopApplicationStep((s: PitrRestoreState) => s.app, app),
      {
        title: 'record a safety point',
        async run(s, step): Promise<StepDone> {
          const { ctx } = s;
          s.countsBefore = await readCounts(s).catch(() => undefined);
          const point = await recordSafetyPoint(ctx.db, { name: `recipedb-ops before ${ctx.requestId}`, timeoutMs: ARCHIVE_TIMEOUT_MS, signal: step.signal, onProgress: step.progress });
          s.safety = point;
          return {
            title: `safety point ${point.at.replace(/\+00$/, ' UTC')} (LSN ${point.lsn}, timeline ${point.timeline})`,
            note: `${point.wal} archived in ${formatDuration(point.archivedMs)}`,
          };
        },
      },
      {
        title: 'stop the database',
        async run(s): Promise<StepDone> {
          const { namespace, deployment } = s.plan.database;
          const read = await kubeCall(readReplicas(s.kube, namespace, deployment), { what: `read the deployment ${databaseName(s)}` });
          // At 0 already (stopped by hand after an interrupted restore, and started far enough to answer step 1)? It starts again with what it had.
          const replicas = read > 0 ? read : ((await leftoverScaleDown(s.ctx.state, s.plan.database))?.replicas ?? 1);
          s.databaseReplicas = replicas;
          // Written first: if this replica dies from here on, another one says the database was left at 0.
          await rememberScaleDown(s.ctx.state, {
            kind: 'database',
            namespace,
            deployment,
            replicas,
            operation: 'pitr-restore',
            instance: s.ctx.instance,
            requestId: s.ctx.requestId,
            approvedBy: s.ctx.approver,
          });
          s.databaseStopped = true;
          await kubeCall(setReplicas(s.kube, namespace, deployment, 0), { what: `scale the deployment ${databaseName(s)}` });
          const { done, state } = await followReplicas(s.kube, { namespace, deployment }, 0, { timeoutMs: STOP_TIMEOUT_MS, what: `follow the deployment ${databaseName(s)}` });
          if (!done) throw failure(`${databaseName(s)} still had ${state.ready} ready pods after ${formatDuration(STOP_TIMEOUT_MS)}`);
          await waitUntilDown(s.ctx.databaseUrl, { timeoutMs: STOP_TIMEOUT_MS });
          return { title: `scale ${databaseName(s)} ${replicas} → 0`, note: 'the database no longer answers' };
        },
      },
      {
        title: 'restore the data directory',
        async run(s, step): Promise<StepDone> {
          const request: PitrRestoreRequest = { id: s.ctx.requestId, target: s.plan.target.pg, set: s.plan.backup.label, timeline: s.plan.timeline };
          const done = await s.dataDirectory.restore(request, { signal: step.signal, progress: step.progress });
          s.restored = true;
          const telling = done.output.filter((l) => /restore backup set|restore size|restore command end/.test(l)).map((l) => `   ${l.replace(/^.*?(INFO|P\d\d)\s*:?\s*/, '').trim()}`);
          return { title: `restore the data directory to ${at(s)} from ${s.plan.backup.label}`, note: done.note, details: telling.slice(-3) };
        },
      },
      {
        title: 'start the database',
        always: true,
        async run(s, step): Promise<StepDone> {
          if (!s.databaseStopped) return { status: 'skipped', note: 'it was not stopped' };
          const { namespace, deployment } = s.plan.database;
          const replicas = s.databaseReplicas ?? 1;
          const title = `scale ${databaseName(s)} 0 → ${replicas}`;
          try {
            await kubeCall(setReplicas(s.kube, namespace, deployment, replicas), { what: `scale the deployment ${databaseName(s)}` });
            try {
              // Recovery may replay a lot of WAL: it is bounded like the restore, not like a rollout. No stop
              // signal: a bot stopped mid-recovery leaves the row below, and the application stays held back.
              s.started = await waitForPromotion(s.ctx.databaseUrl, {
                previousTimeline: s.restored ? s.plan.fromTimeline : 0,
                timeoutMs: s.restoreTimeoutMs,
                connectTimeoutMs: s.ctx.config.timeouts.connectMs,
                onProgress: step.progress,
              });
            } catch (error) {
              const log = await s.dataDirectory.serverLog(SERVER_LOG_LINES).catch(() => []);
              const fatal = log.filter((l) => /\b(FATAL|PANIC)\b/.test(l)).pop();
              s.startProblem = `${describeFailure(error)}${fatal ? ` — the server log says: ${fatal.replace(/^.*?(FATAL|PANIC)/, '$1')}` : ''}`;
              throw failure(s.startProblem, error);
            }
          } finally {
            // Kept until now: a replica dying in the restore or the recovery leaves it, and the one that
            // takes over holds the application back until the database has promoted. From here on this
            // report says how it ended.
            await forgetScaleDown(s.ctx.state, s.plan.database).catch(() => undefined);
          }
          if (!s.restored) return { title, note: `it answers again, on timeline ${s.started.timeline}` };
          const last = s.started.lastReplayedAt ? `the last transaction replayed committed at ${s.started.lastReplayedAt.toISOString().replace('T', ' ').replace('Z', ' UTC')}` : 'no transaction to replay';
          return { title: `${title}: recovered to ${at(s)}, promoted on timeline ${s.started.timeline}`, note: last };
        },
      },
      {
        title: 'row counts',
        async run(s): Promise<StepDone> {
          const counts = await readCounts(s);
          const before = s.countsBefore;
          const details = Object.entries(counts).map(([table, rows]) => {
            const now = rows === null ? 'missing' : formatCount(rows);
            const then = before?.[table];
            if (then === undefined) return `   ${table}: ${now}`;
            return then === rows ? `   ${table}: ${now} (as before the restore)` : `   ${table}: ${now} (${then === null ? 'missing' : formatCount(then)} before the restore)`;
          });
          return { details };
        },
      },
      scaleApplicationBackStep((s: PitrRestoreState) => s.app, app),
    ],
    conclude: concludePitrRestore,
  };
}

export function concludePitrRestore(s: PitrRestoreState, record: RunRecord): Conclusion {
  const database = databaseLine(s);
  const application = { line: applicationLine(s.app), short: shortApplication(s.app) };
  const safety = safetyLine(s);
  const endState = [database.line, application.line, safety];
  const next: string[] = [...applicationNext(s.app)];
  if (s.started && s.restored) next.push('`/recipedb pitr backup` takes a base backup on the new timeline, so that the next restore replays less WAL');
  if (record.failed) {
    return { ok: false, summary: `FAILED at step ${record.failed.number} (${record.failed.title}): ${record.failed.reason} — ${database.short}; ${application.short}`, endState, next };
  }
  if (record.stopped) return { ok: false, summary: `stopped before it finished (${record.stopped}) — ${database.short}; ${application.short}`, endState, next };
  if (applicationInTrouble(s.app)) return { ok: false, summary: `restored the database server to ${at(s)}, but ${application.short}`, endState, next };
  return {
    ok: true,
    summary: `restored the database server to ${at(s)} in ${formatDuration(record.tookMs)}; it is on timeline ${s.started?.timeline ?? '?'}, ${application.short}`,
    endState,
    next,
  };
}

function databaseLine(s: PitrRestoreState): { line: string; short: string } {
  if (!s.databaseStopped) return { line: 'Database: unchanged (nothing was restored)', short: 'database unchanged' };
  if (s.restored && s.started) {
    return {
      line: `Database: restored to ${at(s)} from ${s.plan.backup.label}, now on timeline ${s.started.timeline}`,
      short: 'database restored',
    };
  }
  if (!s.restored && s.started) {
    return {
      line: `Database: running again on timeline ${s.started.timeline}, NOT restored — if pgBackRest changed files before it failed, check the data (or run the restore again)`,
      short: 'database NOT restored, running again',
    };
  }
  const why = s.startProblem ? `: ${s.startProblem}` : '';
  const fix = `\`/recipedb logs\`, \`/recipedb status\`${s.safety ? `; the state before the restore can be recovered with \`/recipedb restore --to-time ${s.safety.atIso} --timeline ${s.safety.timeline}\`` : ''}`;
  return {
    line: `Database: DOWN — ${s.restored ? 'restored, but it did not finish recovering' : 'the restore did not finish, and it did not start again'}${why}. Look at ${fix}`,
    short: 'the database is DOWN',
  };
}

function safetyLine(s: PitrRestoreState): string {
  const point = s.safety;
  if (!point) return 'Safety point: none (not reached)';
  return `Safety point: ${point.at.replace(/\+00$/, ' UTC')} (LSN ${point.lsn}, timeline ${point.timeline}, restore point "${point.restorePoint}") — to go back to it: /recipedb restore --to-time ${point.atIso} --timeline ${point.timeline}`;
}

async function readCounts(s: PitrRestoreState): Promise<RowCounts> {
  // A connection of its own: the pool's sessions did not survive the database's restart.
  return withConnection(s.ctx.databaseUrl, (client) => countRowsReadOnly(client, s.ctx.config.verifyTables), {
    connectTimeoutMs: s.ctx.config.timeouts.connectMs,
    applicationName: 'recipedb-ops pitr-restore',
  });
}
