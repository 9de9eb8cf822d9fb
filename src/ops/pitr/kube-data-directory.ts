/**
 * The cluster's way to run the point-in-time restore on the database's data directory, with no
 * pods/exec and no Job: the database pod (deploy/database/) has an init container `pitr-restore`
 * that runs deploy/database/pitr-restore.sh before PostgreSQL starts, reading its request from the
 * ConfigMap `<RECIPEDB_DEPLOYMENT>-pitr-restore`. With the database scaled to 0, the bot
 *
 *   1. writes the request into that ConfigMap (merge patch: the one object it may change there),
 *   2. scales the database deployment to 1: the new pod's init container restores the volume,
 *   3. follows the init container until it exits, and reads its log for the report,
 *   4. empties the ConfigMap again (the script's marker on the volume also keeps a restarting pod
 *      from restoring twice).
 *
 * PostgreSQL then starts in that same pod and recovers; the procedure's next step waits for it.
 * The bot's Role needs: patch on that ConfigMap (by name), get/patch on the database's
 * deployments/scale, get on the deployment, list pods, get pods/log.
 *
 *   const dataDirectory = initContainerRestore(kube, { namespace: 'recipe-database', deployment: 'recipe-database', container: 'recipe-database', timeoutMs });
 */
import type { V1Pod } from '@kubernetes/client-node';
import { formatDuration } from '../../duration.js';
import { failure } from '../failure.js';
import { abortable } from '../kube/abortable.js';
import { listDeploymentPods } from '../kube/deployment-pods.js';
import { KUBE_CALL_TIMEOUT_MS, setReplicas } from '../kube/deployments.js';
import type { Kube } from '../kube/kube-client.js';
import { kubeFailure } from '../kube/kube-failure.js';
import { pitrRestoreEnv, type DataDirectory, type PitrRestoreRequest } from './data-directory.js';

export const PITR_INIT_CONTAINER = 'pitr-restore';

export interface InitContainerRestoreOptions {
  namespace: string;
  /** RECIPEDB_DEPLOYMENT; its ConfigMap is `<deployment>-pitr-restore`. */
  deployment: string;
  /** RECIPEDB_CONTAINER: whose log explains a PostgreSQL that does not start. */
  container: string;
  /** How long the init container may take to restore. */
  timeoutMs: number;
  pollMs?: number;
}

export function pitrRestoreConfigMap(deployment: string): string {
  return `${deployment}-pitr-restore`;
}

const LOG_LINES = 40;

export function initContainerRestore(kube: Kube, options: InitContainerRestoreOptions): DataDirectory {
  const { namespace, deployment } = options;
  const configMap = pitrRestoreConfigMap(deployment);
  const where = `${namespace}/${deployment}`;
  const call = <T>(what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> =>
    run(AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS)).catch((error: unknown) => {
      throw kubeFailure(error, {
        what,
        notFound: what.includes('ConfigMap') ? `the ConfigMap ${namespace}/${configMap} does not exist: apply deploy/database/ (it holds the restore requests of the init container ${PITR_INIT_CONTAINER})` : undefined,
      });
    });
  const writeRequest = (request: PitrRestoreRequest | null) =>
    call(`change the ConfigMap ${namespace}/${configMap}`, (signal) =>
      kube.core.patchNamespacedConfigMap(
        { name: configMap, namespace, body: { data: pitrRestoreEnv(request) } },
        kube.lib.setHeaderOptions('Content-Type', kube.lib.PatchStrategy.MergePatch, abortable(kube, signal)),
      ),
    );
  const initLog = (pod: string) =>
    call(`read the log of ${pod}`, (signal) => kube.core.readNamespacedPodLog({ name: pod, namespace, container: PITR_INIT_CONTAINER, tailLines: LOG_LINES }, abortable(kube, signal)))
      .then(lines)
      .catch(() => []);

  return {
    where: `the database pod's init container ${PITR_INIT_CONTAINER} (deploy/database/), started by scaling ${where} to 1 with the request in the ConfigMap ${configMap}`,

    async restore(request, ctx) {
      await writeRequest(request);
      let cleared = false;
      const clear = async (): Promise<string> => {
        if (cleared) return '';
        cleared = true;
        return writeRequest(null).then(
          () => '',
          (error: unknown) => ` — the request could not be removed from the ConfigMap ${configMap} (${error instanceof Error ? error.message : String(error)}); the script's marker keeps a restarting pod from restoring again`,
        );
      };
      try {
        await call(`scale the deployment ${where}`, () => setReplicas(kube, namespace, deployment, 1));
        const started = performance.now();
        let told = '';
        for (;;) {
          const { pods } = await listDeploymentPods(kube, { namespace, deployment }, AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS));
          const pod = newest(pods);
          const name = pod?.metadata?.name ?? '';
          const state = pod ? initState(pod) : { kind: 'waiting' as const, reason: 'no pod yet' };
          if (state.kind === 'missing') {
            throw failure(`the database pod ${name} has no init container ${PITR_INIT_CONTAINER}: deploy the database as deploy/database/ shows, so that the restore can run on its volume`);
          }
          if (state.kind === 'done') {
            const output = await initLog(name);
            return { note: `init container ${PITR_INIT_CONTAINER} of ${name} restored the volume in ${formatDuration(performance.now() - started)}${await clear()}`, output };
          }
          if (state.kind === 'failed') {
            const output = await initLog(name);
            const said = output.find((l) => /ERROR: \[\d+\]|refusing the request/.test(l)) ?? output[output.length - 1] ?? 'it printed nothing';
            throw failure(`the init container ${PITR_INIT_CONTAINER} of ${name} failed (exit code ${state.exitCode}): ${said.replace(/^.*?(ERROR: )/, '$1')}${await clear()}`);
          }
          const text = `${name || 'the database pod'}: ${state.kind === 'running' ? `pgBackRest is restoring the data directory (for ${formatDuration(performance.now() - started)})` : `waiting (${state.reason})`}`;
          if (text !== told) {
            told = text;
            await ctx.progress(text);
          }
          if (ctx.signal.aborted) throw failure(`the restore was stopped while the init container ran; it goes on in ${name || 'the pod'} — follow it with \`/recipedb logs --container ${PITR_INIT_CONTAINER}\``);
          if (performance.now() - started > options.timeoutMs) {
            throw failure(`the init container ${PITR_INIT_CONTAINER} had not finished after ${formatDuration(options.timeoutMs)} (${state.kind === 'running' ? 'still restoring' : state.reason})`);
          }
          await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1_000));
        }
      } finally {
        await clear();
      }
    },

    async serverLog(count) {
      const { pods } = await listDeploymentPods(kube, { namespace, deployment }, AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS));
      const pod = newest(pods);
      const name = pod?.metadata?.name;
      if (!name) return [];
      const restarted = (pod.status?.containerStatuses ?? []).some((s) => s.name === options.container && (s.restartCount ?? 0) > 0);
      const read = (previous: boolean) =>
        call(`read the log of ${name}`, (signal) => kube.core.readNamespacedPodLog({ name, namespace, container: options.container, tailLines: count, previous }, abortable(kube, signal))).then(lines);
      const current = await read(false).catch(() => []);
      return restarted && current.length === 0 ? read(true).catch(() => []) : current;
    },
  };
}

type InitState = { kind: 'missing' } | { kind: 'waiting'; reason: string } | { kind: 'running' } | { kind: 'done' } | { kind: 'failed'; exitCode: number };

function initState(pod: V1Pod): InitState {
  if (!(pod.spec?.initContainers ?? []).some((c) => c.name === PITR_INIT_CONTAINER)) return { kind: 'missing' };
  const status = (pod.status?.initContainerStatuses ?? []).find((s) => s.name === PITR_INIT_CONTAINER);
  const terminated = status?.state?.terminated;
  if (terminated) return terminated.exitCode === 0 ? { kind: 'done' } : { kind: 'failed', exitCode: terminated.exitCode };
  // Restarted after a failure (the pod's restartPolicy retries init containers): the last exit tells.
  const last = status?.lastState?.terminated;
  if (last && last.exitCode !== 0) return { kind: 'failed', exitCode: last.exitCode };
  if (status?.state?.running) return { kind: 'running' };
  return { kind: 'waiting', reason: status?.state?.waiting?.reason ?? pod.status?.phase ?? 'Pending' };
}

function newest(pods: V1Pod[]): V1Pod | undefined {
  const live = pods.filter((p) => p.metadata?.deletionTimestamp === undefined);
  const created = (p: V1Pod): number => new Date(p.metadata?.creationTimestamp ?? 0).getTime();
  return live.sort((a, b) => created(b) - created(a))[0];
}

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l !== '');
}
