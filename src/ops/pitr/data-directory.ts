/**
 * "Run the restore on the database's data directory": pgBackRest's restore must run where PGDATA
 * is, with PostgreSQL stopped (`restore command must be run on the PostgreSQL host`), so the bot
 * cannot run it itself. This is the one seam between the point-in-time restore procedure and
 * where the data directory lives:
 *
 * - in the cluster (kube-data-directory.ts): the request is written into the ConfigMap the
 *   database pod's init container `pitr-restore` reads, and the database is started; the init
 *   container runs deploy/database/pitr-restore.sh before PostgreSQL starts;
 * - in the tests and the bench (test/support/local-pitr.ts): the same script with the same
 *   request runs on the private test cluster's data directory.
 *
 * Either way the restore that runs is `pgbackrest restore` with exactly pitrRestoreArgs(request).
 *
 *   const done = await dataDirectory.restore(request, { signal, progress }); // { note: 'init container … exited 0', output: ['…restore command end…'] }
 */
import { z } from 'zod';

/** Every value as the init container's script checks it again (deploy/database/pitr-restore.sh). */
export const pitrRestoreRequest = z.object({
  /** The approval request's id: a pod restarting after the restore does not restore again. */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  /** UTC, written `YYYY-MM-DD HH:MM:SS[.ffffff]+00`. */
  target: z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00$/),
  /** The base backup (pgBackRest label) recovery starts from. */
  set: z.string().regex(/^\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?$/),
  timeline: z.number().int().min(1).max(99_999_999),
});
export type PitrRestoreRequest = z.infer<typeof pitrRestoreRequest>;

/** The arguments of the `pgbackrest restore` the request stands for. */
export function pitrRestoreArgs(request: PitrRestoreRequest): string[] {
  return ['restore', '--delta', '--type=time', `--target=${request.target}`, '--target-action=promote', `--set=${request.set}`, `--target-timeline=${request.timeline}`];
}

/** The request as the init container (and its script) receives it. */
export function pitrRestoreEnv(request: PitrRestoreRequest | null): Record<string, string> {
  return {
    PITR_RESTORE_ID: request?.id ?? '',
    PITR_RESTORE_TARGET: request?.target ?? '',
    PITR_RESTORE_SET: request?.set ?? '',
    PITR_RESTORE_TIMELINE: request ? String(request.timeline) : '',
  };
}

export interface DataDirectoryRestoreDone {
  /** One line for the report: where it ran and how it ended. */
  note: string;
  /** What the restore printed (its last lines). */
  output: string[];
}

export interface DataDirectory {
  /** One sentence for the approval request: where and how the restore runs. */
  readonly where: string;
  /** Runs the restore on the data directory of the stopped database (its deployment is at 0 replicas). */
  restore(request: PitrRestoreRequest, ctx: { signal: AbortSignal; progress: (text: string) => Promise<void> }): Promise<DataDirectoryRestoreDone>;
  /** The database server's last log lines, to explain a start that failed. */
  serverLog(lines: number): Promise<string[]>;
}
