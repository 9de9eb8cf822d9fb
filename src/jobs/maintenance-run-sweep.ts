/**
 * A maintenance run whose replica died (SIGKILL, out of memory, a lost node) stays "running" in
 * the state database, and its message keeps a Cancel button. Every replica looks now and then;
 * the one whose update takes the row finishes it and says so where the run was asked for (through
 * the recorder: the audit log and the channel's open incident). The statement itself is already
 * over: the maintenance session has the server check its client (ops/postgres/maintenance-session.ts).
 *
 *   const sweep = startMaintenanceRunSweep(services); // src/jobs/start-jobs.ts
 *   await sweepInterruptedMaintenanceRuns(services);  // → the runs it finished
 */
import type { Services } from '../context.js';
import { finishRunsOfGoneReplicas, type MaintenanceRun } from '../state/maintenance-runs.js';

export async function sweepInterruptedMaintenanceRuns(services: Services): Promise<MaintenanceRun[]> {
  const runs = await finishRunsOfGoneReplicas(services.state, services.config.replicaTimeoutMs);
  for (const run of runs) {
    const said = `${run.operation} (${run.summary}) was interrupted: the replica running it (${run.instance}) stopped; the database ended its statement, and nothing more of it runs. Run it again if it is still needed.`;
    services.log.warn({ run: run.id, operation: run.operation, instance: run.instance }, said);
    await services.recorder
      .record({ actor: 'recipedb-ops', channel: run.channel, kind: 'action.recovered', action: run.operation, summary: said, details: { run: run.id, instance: run.instance }, requestId: run.requestId ?? undefined })
      .catch((error: unknown) => services.log.error({ err: error }, 'could not record an interrupted maintenance run'));
  }
  return runs;
}

export function startMaintenanceRunSweep(services: Services): { stop(): void } {
  const look = () => void sweepInterruptedMaintenanceRuns(services).catch((error: unknown) => services.log.warn({ err: error }, 'could not look for interrupted maintenance runs'));
  look();
  const timer = setInterval(look, services.config.replicaTimeoutMs / 4);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
