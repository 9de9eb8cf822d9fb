/**
 * The cluster's way to run the restore on the database's volume, against the fake Kubernetes API
 * under deploy/'s RBAC plus deploy/database/rbac-recipedb-ops.yaml: the request goes into the
 * init container's ConfigMap, the database is scaled to 1, the init container is followed until it
 * exits, its log is read for the report, and the ConfigMap is emptied again — also when it failed.
 * What the init container does is played here by a stand-in kubelet; the script it runs is tested
 * for real on a test cluster (test/bot/pitr-restore.test.ts). What a real cluster would add (image
 * pulls, the volume attach, the pod's own restarts) is not tested here.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createKube } from '../../../src/ops/kube/kube-client.js';
import type { Kube } from '../../../src/ops/kube/kube-client.js';
import { pitrRestoreEnv, type PitrRestoreRequest } from '../../../src/ops/pitr/data-directory.js';
import { initContainerRestore, PITR_INIT_CONTAINER, pitrRestoreConfigMap } from '../../../src/ops/pitr/kube-data-directory.js';
import { startFakeKube, type FakeKube } from '../../support/fake-kube.js';

const NS = 'recipe-database';
const DB = 'recipe-database';
const request: PitrRestoreRequest = { id: 'apr_0123456789ab', target: '2026-12-03 12:10:23.555+00', set: '20261203-121019F_20261203-121025I', timeline: 1 };
const quiet = { signal: new AbortController().signal, progress: async () => undefined };

describe('initContainerRestore', () => {
  let fake: FakeKube;
  let kube: Kube;
  /** What the stand-in kubelet saw in the ConfigMap when the pod started. */
  let seenAtStart: Record<string, string> | undefined;

  beforeEach(async () => {
    fake = await startFakeKube({ extraRbacFiles: ['deploy/database/rbac-recipedb-ops.yaml'] });
    fake.addDeployment({ namespace: NS, name: DB, replicas: 0, containers: [{ name: 'recipe-database' }, { name: 'pgbackrest' }], initContainers: [{ name: PITR_INIT_CONTAINER }] });
    fake.addConfigMap(NS, pitrRestoreConfigMap(DB), pitrRestoreEnv(null));
    seenAtStart = undefined;
    kube = (await createKube({ kubeconfig: fake.kubeconfigPath })) as Kube;
  });
  afterEach(async () => {
    await fake.close();
  });

  /** Plays the kubelet: when the pod starts, its init container reads the ConfigMap, runs, and exits with `exitCode`. */
  function initContainerExits(exitCode: number, log: string): void {
    fake.onScale(NS, DB, (replicas) => {
      if (replicas === 0) return;
      seenAtStart = fake.configMap(NS, pitrRestoreConfigMap(DB));
      const [pod] = fake.podsOf(NS, DB);
      if (!pod) return;
      setTimeout(() => {
        fake.setLogs(NS, pod, PITR_INIT_CONTAINER, log);
        fake.setInitContainer(NS, pod, PITR_INIT_CONTAINER, { terminated: exitCode });
      }, 300);
    });
  }

  it('hands the request to the init container, follows it to its end, reports its log and empties the request', async () => {
    initContainerExits(0, 'pitr-restore: restore apr_0123456789ab: …\nP00   INFO: restore command end: completed successfully (394ms)\npitr-restore: restore apr_0123456789ab done\n');
    const progress: string[] = [];
    const dataDirectory = initContainerRestore(kube, { namespace: NS, deployment: DB, container: 'recipe-database', timeoutMs: 30_000, pollMs: 50 });
    const done = await dataDirectory.restore(request, { ...quiet, progress: async (text) => void progress.push(text) });

    expect(seenAtStart).toEqual({ PITR_RESTORE_ID: request.id, PITR_RESTORE_TARGET: request.target, PITR_RESTORE_SET: request.set, PITR_RESTORE_TIMELINE: '1' });
    expect(done.note).toMatch(/^init container pitr-restore of recipe-database-\S+ restored the volume in /);
    expect(done.output).toContain('P00   INFO: restore command end: completed successfully (394ms)');
    expect(progress.some((p) => p.includes('pgBackRest is restoring the data directory'))).toBe(true);
    expect(fake.configMap(NS, pitrRestoreConfigMap(DB))).toEqual(pitrRestoreEnv(null));
    expect(fake.deployment(NS, DB)?.spec.replicas).toBe(1);
    expect(fake.forbidden).toEqual([]);
    // The ConfigMap was changed by merge patch, the only write besides the scale.
    const writes = fake.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
    expect(writes).toEqual([
      `PATCH /api/v1/namespaces/${NS}/configmaps/${pitrRestoreConfigMap(DB)}`,
      `PATCH /apis/apps/v1/namespaces/${NS}/deployments/${DB}/scale`,
      `PATCH /api/v1/namespaces/${NS}/configmaps/${pitrRestoreConfigMap(DB)}`,
    ]);
  });

  it('a failing init container is reported with pgBackRest\'s own error, and its request is taken back', async () => {
    initContainerExits(75, "pitr-restore: restore apr_0123456789ab: …\nERROR: [075]: unable to find backup set with stop time less than '2026-12-03 12:10:23.555+00'\n");
    const dataDirectory = initContainerRestore(kube, { namespace: NS, deployment: DB, container: 'recipe-database', timeoutMs: 30_000, pollMs: 50 });
    await expect(dataDirectory.restore(request, quiet)).rejects.toThrow(
      /^the init container pitr-restore of recipe-database-\S+ failed \(exit code 75\): ERROR: \[075\]: unable to find backup set with stop time less than '2026-12-03 12:10:23\.555\+00'$/,
    );
    expect(fake.configMap(NS, pitrRestoreConfigMap(DB))).toEqual(pitrRestoreEnv(null));
  });

  it('says what is wrong when the database is not deployed with the init container or its ConfigMap, or without the Role', async () => {
    // The database as it ran before deploy/database/: no init container.
    fake.addDeployment({ namespace: NS, name: DB, replicas: 0 });
    const plain = initContainerRestore(kube, { namespace: NS, deployment: DB, container: DB, timeoutMs: 5_000, pollMs: 50 });
    await expect(plain.restore(request, quiet)).rejects.toThrow(/has no init container pitr-restore: deploy the database as deploy\/database\/ shows/);
    expect(fake.configMap(NS, pitrRestoreConfigMap(DB))).toEqual(pitrRestoreEnv(null));

    const noConfigMap = initContainerRestore(kube, { namespace: NS, deployment: 'other', container: 'other', timeoutMs: 5_000 });
    // Outside the Role's resourceNames: the API answers 403 before it could say 404.
    await expect(noConfigMap.restore(request, quiet)).rejects.toThrow("the bot's Kubernetes account may not change the ConfigMap recipe-database/other-pitr-restore (403 Forbidden)");
  });
});
