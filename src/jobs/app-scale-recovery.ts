/**
 * Scales back an application that a dead replica left at 0: the replica running a restore wrote
 * "it had N replicas" into the state database before scaling it to 0 (state/app-scale-downs.ts),
 * and died (or was stopped) before scaling it back. Every replica looks for such rows on start
 * and then every REPLICA_TIMEOUT/4; one claims each, scales the application back (unless someone
 * already did) and says so in OPS_CHANNEL and the audit log (and the ops channel's incident).
 *
 * The database deployment a point-in-time restore stopped is the exception: left at 0, it is NOT
 * started (the half-done `pgbackrest restore --delta` may be in its data directory), but said
 * once, with what to do. Started again (by the restore before it died, or by an operator since),
 * its pod may still be restoring or replaying WAL: a recovering server accepts read-only sessions,
 * so "ready" proves nothing, and that too is said once. Either way the applications stay at 0
 * until the database has finished the restore — its deployment has ready replicas and the
 * database answers `pg_is_in_recovery()` with false — and are then scaled back, as above.
 *
 *   const recovery = startAppScaleRecovery(services); // src/jobs/start-jobs.ts
 *   await recovery.tick(); … recovery.stop();
 */
import type { Services } from '../context.js';
import type { Kube } from '../ops/kube/kube-client.js';
import { describeFailure } from '../ops/failure.js';
import { KUBE_CALL_TIMEOUT_MS, readReplicas, setReplicas } from '../ops/kube/deployments.js';
import { kubeFailure } from '../ops/kube/kube-failure.js';
import { readRolloutState } from '../ops/kube/rollout.js';
import { runningOperation } from '../ops/operation-lock.js';
import { readRecoveryState, type RecoveryState } from '../ops/pitr/recovery-state.js';
import { claimStrandedScaleDowns, interruptedDatabaseRestores, finishRecovery, heldBackApplications, markAnnounced, type ScaleDown } from '../state/app-scale-downs.js';
import { withTimeout } from '../with-timeout.js';
import type { AppRecovery } from './app-recovery.js';

/** A claim whose scale-back did not go through (Kubernetes down) is tried again after this. */
const RETRY_MS = 60_000;

export interface AppScaleRecovery {
  tick(): Promise<AppRecovery[]>;
  stop(): void;
}

export function createAppScaleRecovery(services: Services): AppScaleRecovery {
  const { config, log, state } = services;
  let running: Promise<AppRecovery[]> | undefined;

  const recover = async (down: ScaleDown): Promise<AppRecovery | undefined> => {
    const kube = services.kube;
    const name = `${down.namespace}/${down.deployment}`;
    if (!kube) return undefined;
    try {
      const current = await withTimeout(readReplicas(kube, down.namespace, down.deployment), KUBE_CALL_TIMEOUT_MS, 'Kubernetes');
      if (current === 0) await withTimeout(setReplicas(kube, down.namespace, down.deployment, down.replicas), KUBE_CALL_TIMEOUT_MS, 'Kubernetes');
      await finishRecovery(state, down, services.instance);
      const recovery: AppRecovery = { down, outcome: current === 0 ? 'scaled-back' : 'already-up', now: current === 0 ? down.replicas : current };
      const said =
        recovery.outcome === 'scaled-back'
          ? `scaled ${name} back to ${down.replicas} replicas: the replica running a ${down.operation} (${down.instance}) stopped with it at 0`
          : `${name} is at ${current} replicas again (someone scaled it); the ${down.operation} that stopped it on ${down.instance} had left it at 0`;
      log.warn({ app: name, replicas: down.replicas, instance: down.instance, requestId: down.requestId }, said);
      await announce(recovery, said);
      return recovery;
    } catch (error) {
      const reason = describeFailure(kubeFailure(error, { what: `scale the deployment ${name}` }));
      log.error({ err: error, app: name }, `could not scale ${name} back to ${down.replicas} (tried again in ${RETRY_MS / 1000}s): ${reason}`);
      return undefined;
    }
  };

  const announce = async (recovery: AppRecovery, said: string): Promise<void> => {
    const { down } = recovery;
    await services.recorder
      .record({
        actor: 'recipedb-ops',
        channel: config.opsChannel,
        kind: 'action.recovered',
        action: down.operation,
        summary: said,
        details: { namespace: down.namespace, deployment: down.deployment, replicas: down.replicas, outcome: recovery.outcome, instance: down.instance, kind: down.kind },
        requestId: down.requestId ?? undefined,
      })
      .catch((error: unknown) => log.error({ err: error }, 'could not record what became of a deployment left at 0'));
    await services.notices.publish({ kind: 'app-scaled-back', recovery });
  };

  /** Whether the restore in the database's pod has finished: a ready pod, and a database out of recovery. */
  const restoreFinished = async (kube: Kube, down: ScaleDown): Promise<RecoveryState> => {
    const rollout = await readRolloutState(kube, { namespace: down.namespace, deployment: down.deployment });
    if (rollout.ready === 0) return { finished: false, why: 'no pod of it is ready yet' };
    return readRecoveryState(services.db);
  };

  const recoverDatabase = async (down: ScaleDown): Promise<AppRecovery | undefined> => {
    const kube = services.kube;
    const name = `${down.namespace}/${down.deployment}`;
    if (!kube) return undefined;
    try {
      const current = await withTimeout(readReplicas(kube, down.namespace, down.deployment), KUBE_CALL_TIMEOUT_MS, 'Kubernetes');
      const heldBack = () => heldBackApplications(state);
      if (current > 0) {
        const restore = await restoreFinished(kube, down);
        if (restore.finished) {
          await finishRecovery(state, down, services.instance);
          const recovery: AppRecovery = { down, outcome: 'database-up-again', now: current, timeline: restore.timeline };
          const said = `the database deployment ${name} runs again (${current} ${current === 1 ? 'replica' : 'replicas'}) and has finished recovering; the applications the interrupted ${down.operation} stopped are scaled back now`;
          log.warn({ database: name, replicas: current, timeline: restore.timeline, instance: down.instance, requestId: down.requestId }, said);
          await announce(recovery, said);
          return recovery;
        }
        if (down.announcedAt) {
          await markAnnounced(state, down, services.instance);
          return undefined;
        }
        const recovery: AppRecovery = { down, outcome: 'database-recovering', now: current, heldBack: await heldBack(), why: restore.why };
        const said = `the database deployment ${name} was started again by an interrupted ${down.operation} (replica ${down.instance}) and has not finished recovering: ${restore.why}; the applications stay at 0 until it has`;
        log.error({ database: name, replicas: current, instance: down.instance, requestId: down.requestId }, said);
        await announce(recovery, said);
        await markAnnounced(state, down, services.instance);
        return recovery;
      }
      if (down.announcedAt) {
        await markAnnounced(state, down, services.instance);
        return undefined;
      }
      const scaleBack = config.scalableDeployments.includes(name)
        ? `/recipedb scale ${down.deployment} ${down.replicas}`
        : `kubectl -n ${down.namespace} scale deployment/${down.deployment} --replicas=${down.replicas}`;
      const recovery: AppRecovery = { down, outcome: 'database-left-down', now: 0, heldBack: await heldBack(), scaleBack };
      const said = `the database deployment ${name} was left at 0 replicas by an interrupted ${down.operation} (replica ${down.instance}); it was NOT started again`;
      log.error({ database: name, replicas: down.replicas, instance: down.instance, requestId: down.requestId }, said);
      await announce(recovery, said);
      await markAnnounced(state, down, services.instance);
      return recovery;
    } catch (error) {
      const reason = describeFailure(kubeFailure(error, { what: `read the deployment ${name}` }));
      log.error({ err: error, database: name }, `could not read the database deployment ${name} an interrupted ${down.operation} stopped (tried again in ${RETRY_MS / 1000}s): ${reason}`);
      return undefined;
    }
  };

  const tickOnce = async (): Promise<AppRecovery[]> => {
    if (!services.kube) return [];
    // A restore running now takes the row over itself, and scales the application back at its end.
    const operation = await runningOperation(state);
    if (operation && (operation.kind === 'restore' || operation.kind === 'pitr-restore')) return [];
    const claim = { instance: services.instance, replicaTimeoutMs: config.replicaTimeoutMs, retryMs: RETRY_MS };
    const recovered: AppRecovery[] = [];
    for (const down of await claimStrandedScaleDowns(state, { ...claim, kind: 'database' })) {
      const done = await recoverDatabase(down);
      if (done) recovered.push(done);
    }
    // Against a database that is down, or still recovering (read-only), the applications would only fail.
    if ((await interruptedDatabaseRestores(state)) > 0) return recovered;
    for (const down of await claimStrandedScaleDowns(state, { ...claim, kind: 'application' })) {
      const done = await recover(down);
      if (done) recovered.push(done);
    }
    return recovered;
  };

  return {
    async tick() {
      if (running) return [];
      running = tickOnce().catch((error: unknown) => {
        log.warn({ err: error }, 'could not look for applications left at 0 replicas');
        return [];
      });
      try {
        return await running;
      } finally {
        running = undefined;
      }
    },
    stop() {
      // Nothing to abort: a tick is a few short calls.
    },
  };
}

/** The job with its timer: a tick at once, then every REPLICA_TIMEOUT/4. */
export function startAppScaleRecovery(services: Services): AppScaleRecovery {
  const recovery = createAppScaleRecovery(services);
  void recovery.tick();
  const timer = setInterval(() => void recovery.tick(), Math.max(250, services.config.replicaTimeoutMs / 4));
  timer.unref();
  return {
    tick: () => recovery.tick(),
    stop() {
      clearInterval(timer);
    },
  };
}
