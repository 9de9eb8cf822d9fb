/**
 * A bot process SIGKILLed in a point-in-time restore after it started the database again, while
 * PostgreSQL is still recovering: the pod is ready and the server accepts (read-only) sessions,
 * but the application must stay at 0 until the database has promoted. The next replica says so
 * once in OPS_CHANNEL, and scales the application back, said once, after `pg_promote()`.
 *
 * The database deployment has the init container `pitr-restore`, as deploy/database/ has; the
 * bot hands the request to it (the ConfigMap) and scales the database to 1. The stand-in kubelet
 * plays the init container as done (its restore runs for real in pitr-restore.test.ts) and starts
 * the test cluster as a standby of its own WAL archive, which stays in recovery until promoted:
 * a real PostgreSQL in recovery, as the pod's is while it replays WAL to the target. The bot is
 * killed while its report says it waits for recovery.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoDatabase } from '../../src/dev/demo-database.js';
import { pitrRestoreEnv } from '../../src/ops/pitr/data-directory.js';
import { PITR_INIT_CONTAINER, pitrRestoreConfigMap } from '../../src/ops/pitr/kube-data-directory.js';
import { startBotProcess, type BotProcess } from '../support/bot-process.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startPitrPostgres, type PitrPostgres } from '../support/local-pitr.js';
import { createTestDatabase } from '../support/postgres.js';
import { rendered, textOf, tsOf } from '../support/slack-messages.js';
import { sql, waitUntil } from '../ops/backup/backup-fixtures.js';

const NS = 'recipe-database';
const DB = 'recipe-database';

describe('a bot killed in a point-in-time restore while the database it started is still recovering', () => {
  let slack: FakeSlack;
  let kube: FakeKube;
  let cluster: PitrPostgres;
  let stateUrl: string;
  let url: string;
  const bots: BotProcess[] = [];
  const kubeletErrors: string[] = [];

  beforeAll(async () => {
    [slack, kube, cluster, stateUrl] = await Promise.all([
      startFakeSlack(),
      startFakeKube({ extraRbacFiles: ['deploy/database/rbac-recipedb-ops.yaml'] }),
      startPitrPostgres(),
      createTestDatabase('state'),
    ]);
    kube.addDeployment({ namespace: 'default', name: 'recipe-app', replicas: 3 });
    kube.addDeployment({ namespace: NS, name: DB, replicas: 1, containers: [{ name: DB }], initContainers: [{ name: PITR_INIT_CONTAINER }] });
    kube.addConfigMap(NS, pitrRestoreConfigMap(DB), pitrRestoreEnv(null));
    const initDone = () => {
      for (const pod of kube.podsOf(NS, DB)) kube.setInitContainer(NS, pod, PITR_INIT_CONTAINER, { terminated: 0 });
    };
    initDone();
    // The kubelet: 0 replicas stops the server; a new pod runs its init container, then PostgreSQL recovers.
    let transition: Promise<void> = Promise.resolve();
    kube.onScale(NS, DB, (replicas) => {
      transition = transition
        .then(async () => {
          if (replicas === 0) return cluster.stop();
          initDone();
          await cluster.startStandby();
        })
        .catch((error: unknown) => void kubeletErrors.push(String(error)));
    });
    await createDemoDatabase(cluster.url(), 'recipes', { recipes: 20, users: 10 });
    url = cluster.url('recipes');
    await cluster.pgbackrest.run(['stanza-create']);
    await cluster.pgbackrest.run(['backup', '--type=full']);
  }, 180_000);
  afterAll(async () => {
    await Promise.all(bots.splice(0).map((b) => b.stop()));
    await slack?.close();
    await cluster?.cleanup();
    await kube?.close();
  });

  const start = async (): Promise<BotProcess> => {
    const bot = await startBotProcess({
      slack,
      env: {
        DATABASE_URL: url,
        STATE_DATABASE_URL: stateUrl,
        APPROVERS: 'U_BOB',
        OPS_CHANNEL: 'C_OPS',
        KUBECONFIG: kube.kubeconfigPath,
        REPLICA_TIMEOUT: '2s',
        PGBACKREST_STANZA: cluster.stanza,
        PGBACKREST_CONFIG: cluster.configFile,
        PITR_RESTORE_TIMEOUT: '5m',
        STATUS_SOURCE_TIMEOUT: '20s',
        LOG_LEVEL: 'info',
      },
    });
    bots.push(bot);
    return bot;
  };
  const replicas = (namespace: string, name: string) => kube.deployment(namespace, name)?.spec.replicas;
  const opsMessages = (text: string) => slack.callsTo('chat.postMessage').filter((c) => c.body.channel === 'C_OPS' && textOf(c).includes(text));

  it('holds the application at 0 while the database recovers, says so once, and scales it back once it has promoted', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const [row] = await sql<{ now: string }>(url, `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || 'Z' AS now`);
    await sql(url, 'SELECT pg_switch_wal()');
    const a = await start();

    slack.reset();
    await a.client.command(`restore --to-time ${row?.now ?? ''}`, { userId: 'U_ALICE' });
    const request = await waitUntil(
      async () => slack.calls.find((c) => c.method.startsWith('chat.') && rendered(c).choices.some((x) => x.actionId === 'approval_approve')),
      60_000,
      'the approval request',
    );
    const id = rendered(request).choices.find((c) => c.actionId === 'approval_approve')?.value as string;
    const requestTs = request.method === 'chat.update' ? String(request.body.ts) : tsOf(request);
    await a.client.blockAction({ actionId: 'approval_approve', value: id, userId: 'U_BOB', messageTs: requestTs });

    // The bot is killed while its report says the database it started is recovering.
    await slack.waitFor('chat.update', (c) => textOf(c).includes('recovering: WAL replayed up to'), 120_000).catch((error: unknown) => {
      throw new Error(`${String(error)}; log:\n${a.logs.slice(-15).map((l) => JSON.stringify(l)).join('\n')}\nkubelet: ${kubeletErrors.join('; ')}`);
    });
    a.kill('SIGKILL');
    await a.exited;
    expect(replicas(NS, DB)).toBe(1);
    expect(kube.deployment(NS, DB)?.status.readyReplicas).toBe(1);
    expect(replicas('default', 'recipe-app')).toBe(0);
    const [recovering] = await sql<{ in_recovery: boolean }>(url, 'SELECT pg_is_in_recovery() AS in_recovery');
    expect(recovering?.in_recovery).toBe(true);

    // The next replica: ready pod, answering database, but in recovery — the application stays at 0, said once.
    slack.reset();
    const b = await start();
    const said = await slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_OPS' && textOf(c).includes('has not finished recovering'), 30_000);
    const message = textOf(said).replace(/\s+/g, ' ');
    expect(message).toContain('The interrupted pitr-restore had started the database deployment recipe-database/recipe-database again: the restore goes on in its pod, and the database has not finished recovering (it is still in recovery');
    expect(message).toContain('default/recipe-app (had 3) stays at 0 until the database has promoted');
    expect(message).toContain('`/recipedb restore --to-time …` again');
    const audit = () => sql<{ summary: string }>(stateUrl, `SELECT summary FROM recipedb_ops.audit_log WHERE kind = 'action.recovered' AND request_id = $1 ORDER BY id`, [id]);
    expect((await audit()).map((r) => r.summary)).toEqual([expect.stringContaining('has not finished recovering: it is still in recovery')]);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(replicas('default', 'recipe-app')).toBe(0);
    expect(opsMessages('has not finished recovering')).toHaveLength(1);
    expect(opsMessages('recipe-app back')).toHaveLength(0);

    // Recovery ends (the target reached, in the pod): the application comes back, said once.
    await sql(url, 'SELECT pg_promote()');
    await slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_OPS' && textOf(c).includes('Scaled default/recipe-app back to 3 replicas'), 30_000);
    expect(replicas('default', 'recipe-app')).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(opsMessages('Scaled default/recipe-app back to 3 replicas')).toHaveLength(1);
    expect(opsMessages('has finished recovering').map((c) => textOf(c).replace(/\s+/g, ' '))).toEqual([
      expect.stringContaining('The database deployment recipe-database/recipe-database runs again (1 replica) and has finished recovering (on timeline 2)'),
    ]);
    expect(opsMessages('has not finished recovering')).toHaveLength(1);
    expect((await audit()).length).toBe(3);
    expect((await sql(stateUrl, 'SELECT * FROM recipedb_ops.app_scale_downs')).length).toBe(0);
    expect(b.stderr.join('\n')).not.toContain('Error');
    expect(kube.forbidden).toEqual([]);
    expect(kubeletErrors).toEqual([]);
  }, 300_000);
});
