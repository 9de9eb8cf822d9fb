/**
 * The two steps every procedure that replaces the database wraps around its work (restore,
 * point-in-time restore): stop the application (scale it to 0, its replicas written in the state
 * database first, so that a surviving replica scales it back if this one dies), and scale it back
 * to what it was — an `always` step, so it runs whatever happened in between. Both waits end on
 * the procedure's stop signal (a shutdown). And the wording of where that leaves the
 * application, for the procedure's `conclude`.
 *
 *   const app = applicationScaling(ctx.config, plan.app, ctx.kube !== null);
 *   steps: [ …, stopApplicationStep((s) => s.app, deps), …, scaleApplicationBackStep((s) => s.app, deps) ]
 *   endState: [applicationLine(state.app)]
 */
import type pg from 'pg';
import { formatDuration } from '../duration.js';
import { readReplicas, setReplicas } from '../ops/kube/deployments.js';
import type { Kube } from '../ops/kube/kube-client.js';
import { kubeCall } from '../ops/kube/kube-failure.js';
import { followReplicas, readRolloutState, type RolloutResult, type RolloutState } from '../ops/kube/rollout.js';
import { failure } from '../ops/failure.js';
import { forgetScaleDown, leftoverScaleDown, rememberScaleDown } from '../state/app-scale-downs.js';
import type { ProcedureStep, StepContext } from './procedure-runner.js';

export const STOP_TIMEOUT_MS = 2 * 60_000;
export const START_TIMEOUT_MS = 5 * 60_000;

/** What the procedure knows about the application, step by step; `conclude` words it. */
export interface AppScaling {
  namespace: string;
  deployment: string;
  /** False when Kubernetes is not configured: the application cannot be stopped. */
  kubeConfigured: boolean;
  /** `scale` may touch it, so the fix can name `/recipedb scale`. */
  scalable: boolean;
  /** The replicas it had before; undefined until read. */
  replicas?: number;
  /** True when reading its replicas failed (so it was not touched). */
  readFailed?: boolean;
  /** True once the scale to 0 was asked for: it must be scaled back. */
  stopTried: boolean;
  /** Why it was at 0 already: an earlier procedure died before scaling it back (its replicas are used). */
  leftBy?: string;
  end?:
    | { kind: 'back'; ready: number }
    | { kind: 'not-ready'; ready: number }
    /** Scaled back, but not followed to ready: the bot was stopping. */
    | { kind: 'not-followed'; reason: string }
    | { kind: 'failed'; reason: string; now: number | undefined };
}

export function applicationScaling(app: { namespace: string; deployment: string }, options: { kubeConfigured: boolean; scalableDeployments: readonly string[] }): AppScaling {
  return {
    namespace: app.namespace,
    deployment: app.deployment,
    kubeConfigured: options.kubeConfigured,
    scalable: options.scalableDeployments.includes(`${app.namespace}/${app.deployment}`),
    stopTried: false,
  };
}

export interface AppStepDeps {
  kube: Kube | null;
  /** The state database, where "it had N replicas" is written before the scale to 0. */
  state: pg.Pool;
  /** This replica, and what it runs: a surviving replica scales the application back if it dies. */
  instance: string;
  operation: string;
  requestId?: string;
  approvedBy?: string;
  /** Said when the application did not stop in time, after "…ready pods after 2m; ": what was held back. */
  notStopped: string;
}

function appName(app: AppScaling): string {
  return `${app.namespace}/${app.deployment}`;
}

/** Scales the application to 0 and waits until no pod of it is ready. */
export function stopApplicationStep<S>(pick: (state: S) => AppScaling, deps: AppStepDeps): ProcedureStep<S> {
  return {
    title: (s) => `stop the application ${appName(pick(s))}`,
    async run(s, ctx) {
      const app = pick(s);
      const name = appName(app);
      const kube = deps.kube;
      if (!kube) return { status: 'skipped', note: 'Kubernetes is not configured' };
      const replicas = await kubeCall(readReplicas(kube, app.namespace, app.deployment), { what: `read the deployment ${name}` }).catch((error: unknown) => {
        app.readFailed = true;
        throw error;
      });
      const remember = (had: number): Promise<void> =>
        rememberScaleDown(deps.state, { namespace: app.namespace, deployment: app.deployment, replicas: had, operation: deps.operation, instance: deps.instance, requestId: deps.requestId, approvedBy: deps.approvedBy });
      if (replicas === 0) {
        // At 0 because an earlier procedure died before scaling it back? Then it goes back to what it had before that.
        const leftover = await leftoverScaleDown(deps.state, app);
        app.replicas = leftover?.replicas ?? 0;
        if (!leftover) return { title: `scale ${name} 0 → 0`, note: 'it was already at 0 replicas' };
        app.stopTried = true;
        app.leftBy = `an interrupted ${leftover.operation}`;
        await remember(leftover.replicas);
        return { title: `keep ${name} at 0`, note: `${app.leftBy} left it at 0; it goes back to ${leftover.replicas} replicas at the end` };
      }
      app.replicas = replicas;
      const title = `scale ${name} ${replicas} → 0`;
      // Written first: if this replica dies from here on, another one scales the application back.
      await remember(replicas);
      app.stopTried = true;
      await kubeCall(setReplicas(kube, app.namespace, app.deployment, 0), { what: `scale the deployment ${name}` });
      const { done, failure: stopped, state } = await follow(kube, app, 0, STOP_TIMEOUT_MS, ctx, (r) => `stopping ${name}… ${r.ready} ready`);
      if (stopped === 'stopped') throw failure(`stopped while ${name} was stopping (${state.ready} ready): ${ctx.reason(ctx.signal.reason)}; ${deps.notStopped}`);
      if (!done) throw new Error(`${name} still had ${state.ready} ready pods after ${formatDuration(STOP_TIMEOUT_MS)}; ${deps.notStopped}`);
      return { title };
    },
  };
}

/** Scales the application back to the replicas it had, when it was stopped; runs whatever happened before it. */
export function scaleApplicationBackStep<S>(pick: (state: S) => AppScaling, deps: AppStepDeps): ProcedureStep<S> {
  return {
    always: true,
    title: (s) => {
      const app = pick(s);
      return app.stopTried ? `scale ${appName(app)} 0 → ${app.replicas ?? '?'}` : `start the application ${appName(app)}`;
    },
    async run(s, ctx) {
      const app = pick(s);
      const name = appName(app);
      const kube = deps.kube;
      const replicas = app.replicas;
      if (!kube) return { status: 'skipped', note: 'Kubernetes is not configured' };
      if (replicas === undefined) return { status: 'skipped', note: 'it was never stopped' };
      if (!app.stopTried) return { status: 'skipped', title: `scale ${name} back`, note: `left at ${replicas} replicas, as it was` };
      try {
        await kubeCall(setReplicas(kube, app.namespace, app.deployment, replicas), { what: `scale the deployment ${name}` });
        // A row that stays is harmless: whoever finds it later sees the application back, and leaves it.
        await forgetScaleDown(deps.state, app).catch(() => undefined);
        if (ctx.signal.aborted) {
          // Shutting down: the scale is asked for; waiting for its pods would outlast the clean-up time.
          app.end = { kind: 'not-followed', reason: ctx.reason(ctx.signal.reason) };
          return { note: `not followed to ready: ${app.end.reason}` };
        }
        const { done, failure: stopped, state } = await follow(kube, app, replicas, START_TIMEOUT_MS, ctx, (r) => `starting ${name}… ${r.ready}/${replicas} ready`);
        if (stopped === 'stopped') {
          app.end = { kind: 'not-followed', reason: ctx.reason(ctx.signal.reason) };
          return { note: `${state.ready} ready when the bot stopped following it: ${app.end.reason}` };
        }
        app.end = done ? { kind: 'back', ready: state.ready } : { kind: 'not-ready', ready: state.ready };
        if (!done) throw new Error(`only ${state.ready} of ${replicas} replicas were ready after ${formatDuration(START_TIMEOUT_MS)}`);
        return { note: `${state.ready} ready` };
      } catch (error) {
        if (app.end === undefined) {
          // Read from the deployment itself: the scale subresource is what just failed.
          const now = await kubeCall(readRolloutState(kube, app), { what: `read the deployment ${name}` }).then(
            (state) => state.desired,
            () => undefined,
          );
          app.end = { kind: 'failed', reason: ctx.reason(error), now };
        }
        throw error;
      }
    },
  };
}

/** "Application: scaled back to 3 replicas (3 ready)" — the application's line of the end state. */
export function applicationLine(app: AppScaling): string {
  const name = appName(app);
  const replicas = app.replicas;
  if (!app.kubeConfigured) return `Application: NOT STOPPED — Kubernetes is not configured, so ${name} kept running while its database was replaced`;
  if (replicas === undefined) return app.readFailed ? `Application: not touched (${name} could not be read)` : 'Application: not touched';
  if (!app.stopTried) return `Application: left at ${replicas} replicas, as it was`;
  const end = app.end;
  if (end === undefined || end.kind === 'back') return `Application: scaled back to ${replicas} replicas${end ? ` (${end.ready} ready)` : ''}`;
  if (end.kind === 'not-followed') return `Application: scaled back to ${replicas} replicas (not followed to ready: ${end.reason})`;
  if (end.kind === 'not-ready') return `Application: scaled back to ${replicas} replicas, but only ${end.ready} were ready after ${formatDuration(START_TIMEOUT_MS)} — check its pods`;
  const fix = app.scalable ? `/recipedb scale ${app.deployment} ${replicas}` : `kubectl -n ${app.namespace} scale deployment/${app.deployment} --replicas=${replicas}`;
  if (end.now === undefined) return `Application: MAY STILL BE AT 0 REPLICAS (Kubernetes did not answer: ${end.reason}) — scale it back: ${fix}`;
  if (end.now === replicas) return `Application: at ${replicas} replicas again, though scaling it back reported: ${end.reason}`;
  return `Application: STILL AT ${end.now} REPLICAS — scale it back: ${fix}`;
}

/** "the application is back at 3 replicas" — for the summary. */
export function shortApplication(app: AppScaling): string {
  const replicas = app.replicas;
  if (!app.kubeConfigured) return 'the application was NOT stopped (Kubernetes is not configured)';
  if (replicas === undefined) return 'the application was not touched';
  if (!app.stopTried) return `the application was left at ${replicas} replicas`;
  const end = app.end;
  if (end === undefined || end.kind === 'back' || end.kind === 'not-followed') return `the application is back at ${replicas} replicas`;
  if (end.kind === 'not-ready') return `the application is scaled back to ${replicas} but only ${end.ready} are ready`;
  if (end.now === undefined) return 'the application MAY STILL BE AT 0 REPLICAS';
  return end.now === replicas ? `the application is back at ${replicas} replicas` : `the application is STILL AT ${end.now} REPLICAS`;
}

/** What the operator should do about the application, when anything. */
export function applicationNext(app: AppScaling): string[] {
  if (!app.kubeConfigured) return [`check ${appName(app)}: it kept running during the restore, and may hold connections or cached data from before it`];
  return [];
}

/** True when the application did not come back as it was (the procedure's verdict is then not ok). */
export function applicationInTrouble(app: AppScaling): boolean {
  return app.end !== undefined && app.end.kind !== 'back' && app.end.kind !== 'not-followed';
}

function follow(kube: Kube, app: AppScaling, replicas: number, timeoutMs: number, ctx: StepContext, describe: (state: RolloutState) => string): Promise<RolloutResult> {
  return followReplicas(kube, app, replicas, { timeoutMs, onProgress: (r) => ctx.progress(describe(r)), signal: ctx.signal, what: `follow the deployment ${appName(app)}` });
}
