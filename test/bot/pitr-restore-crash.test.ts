/**
 * A bot process SIGKILLed in a point-in-time restore right after it stopped the database: the
 * next replica must not start the database (a half-done `pgbackrest restore --delta` may be in its
 * data directory), but must say so in OPS_CHANNEL and the audit log, with what to run; the
 * application stays at 0 while the database is down, and comes back once someone starts it.
 *
 * The pause is the restore step's first call, the request written into the init container's
 * ConfigMap, held by the fake Kubernetes API; the database deployment is bound to a local
 * PostgreSQL archiving with pgBackRest (test/support/local-pitr.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoDatabase } from '../../src/dev/demo-database.js';
import { setReplicas } from '../../src/ops/kube/deployments.js';
import { createKube } from '../../src/ops/kube/kube-client.js';
import { startBotProcess, type BotProcess } from '../support/bot-process.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startPitrPostgres, type PitrPostgres } from '../support/local-pitr.js';
import { createTestDatabase } from '../support/postgres.js';
import { rendered, textOf, tsOf } from '../support/slack-messages.js';
import { sql, waitUntil } from '../ops/backup/backup-fixtures.js';

const CONFIG_MAPS = '/api/v1/namespaces/recipe-database/configmaps';

describe('a bot killed in a point-in-time restore after it stopped the database', () => {
  let slack: FakeSlack;
  let kube: FakeKube;
  let cluster: PitrPostgres;
  let stateUrl: string;
  let url: string;
  const bots: BotProcess[] = [];

  beforeAll(async () => {
    [slack, kube, cluster, stateUrl] = await Promise.all([
      startFakeSlack(),
      startFakeKube({ extraRbacFiles: ['deploy/database/rbac-recipedb-ops.yaml'] }),
      startPitrPostgres(),
      createTestDatabase('state'),
    ]);
    kube.addDeployment({ namespace: 'default', name: 'recipe-app', replicas: 3 });
    kube.addDeployment({ namespace: 'recipe-database', name: 'recipe-database', replicas: 1 });
    cluster.bindToDeployment(kube, 'recipe-database', 'recipe-database');
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
        PITR_RESTORE_TIMEOUT: '2m',
        STATUS_SOURCE_TIMEOUT: '20s',
        LOG_LEVEL: 'info',
      },
    });
    bots.push(bot);
    return bot;
  };
  const replicas = (namespace: string, name: string) => kube.deployment(namespace, name)?.spec.replicas;

  it('leaves the database at 0, says so once with what to run, holds the application back, and scales it back once the database runs', async () => {
    // A moment after the end of the base backup (to the second, as pgBackRest reports it).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const [row] = await sql<{ now: string }>(url, `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || 'Z' AS now`);
    const moment = row?.now ?? '';
    await sql(url, 'SELECT pg_switch_wal()');
    const a = await start();

    slack.reset();
    await a.client.command(`restore --to-time ${moment}`, { userId: 'U_ALICE' });
    const request = await waitUntil(
      async () => slack.calls.find((c) => c.method.startsWith('chat.') && rendered(c).choices.some((x) => x.actionId === 'approval_approve')),
      60_000,
      'the approval request',
    ).catch((error: unknown) => {
      const seen = [...slack.calls.filter((c) => c.method.startsWith('chat.')).map(textOf), ...slack.responsePosts.map((p) => JSON.stringify(p.body))];
      throw new Error(`${String(error)}; Slack saw:\n${seen.join('\n---\n')}\nlog:\n${a.logs.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`);
    });
    const id = rendered(request).choices.find((c) => c.actionId === 'approval_approve')?.value as string;
    const requestTs = request.method === 'chat.update' ? String(request.body.ts) : tsOf(request);

    // The restore step's first call never answers: the bot is caught with the database stopped.
    kube.hang(CONFIG_MAPS);
    await a.client.blockAction({ actionId: 'approval_approve', value: id, userId: 'U_BOB', messageTs: requestTs });
    await waitUntil(async () => (kube.requests.some((q) => q.path.startsWith(CONFIG_MAPS)) ? true : undefined), 120_000, 'the restore step to write its request');
    expect(replicas('recipe-database', 'recipe-database')).toBe(0);
    expect(replicas('default', 'recipe-app')).toBe(0);
    a.kill('SIGKILL');
    await a.exited;
    kube.hang(null);

    // The next replica to start: the database stays at 0, and OPS_CHANNEL is told why and what to do.
    slack.reset();
    const b = await start();
    const said = await slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_OPS' && textOf(c).includes('recipe-database/recipe-database was left at 0 replicas'), 30_000);
    const message = textOf(said).replace(/\s+/g, ' ');
    expect(message).toContain('The database deployment recipe-database/recipe-database was left at 0 replicas by an interrupted pitr-restore: the database is DOWN, and the bot did not start it again');
    expect(message).toContain('half-done `pgbackrest restore --delta`');
    expect(message).toContain('`kubectl -n recipe-database scale deployment/recipe-database --replicas=1`');
    expect(message).toContain('`/recipedb restore --to-time …` again');
    expect(message).toContain('default/recipe-app (had 3) stays at 0 while the database is down');
    const audit = await sql<{ summary: string }>(stateUrl, `SELECT summary FROM recipedb_ops.audit_log WHERE kind = 'action.recovered' AND request_id = $1`, [id]);
    expect(audit.map((r) => r.summary)).toEqual([expect.stringContaining('the database deployment recipe-database/recipe-database was left at 0 replicas by an interrupted pitr-restore')]);

    // Said once: later ticks leave both where they are.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(slack.callsTo('chat.postMessage').filter((c) => textOf(c).includes('was left at 0 replicas'))).toHaveLength(1);
    expect(replicas('recipe-database', 'recipe-database')).toBe(0);
    expect(replicas('default', 'recipe-app')).toBe(0);

    // The operator scales the database back (as the message says); the application follows.
    const operator = await createKube({ kubeconfig: kube.kubeconfigPath });
    if (!operator) throw new Error('no Kubernetes client');
    await setReplicas(operator, 'recipe-database', 'recipe-database', 1);
    await slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_OPS' && textOf(c).includes('Scaled default/recipe-app back to 3 replicas'), 30_000);
    expect(slack.callsTo('chat.postMessage').map(textOf).join(' ').replace(/\s+/g, ' ')).toContain('The database deployment recipe-database/recipe-database runs again (1 replica)');
    expect(replicas('default', 'recipe-app')).toBe(3);
    expect((await sql(stateUrl, 'SELECT * FROM recipedb_ops.app_scale_downs')).length).toBe(0);
    expect(b.stderr.join('\n')).not.toContain('Error');
    expect(kube.forbidden).toEqual([]);
  }, 300_000);
});
