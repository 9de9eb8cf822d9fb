/**
 * Point-in-time recovery through Slack, for real: a private PostgreSQL archiving its WAL with
 * pgBackRest into a local repository, base backups taken with `pitr backup`, rows inserted, a
 * moment noted, rows deleted and others added — then `restore --to-time` that moment, approved by
 * a second person: the deleted rows are back, the later ones are not, and the server is on a new
 * timeline. The application and the database are scaled 0 and back on the fake Kubernetes API
 * (under deploy/'s RBAC), whose database deployment is bound to the test cluster the way a kubelet
 * is to a pod (test/support/local-pitr.ts); the restore itself is the init container's script run
 * on the test cluster's data directory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { createDemoDatabase } from '../../src/dev/demo-database.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import type { SlackCall } from '../support/fake-slack.js';
import { startPitrPostgres, type PitrPostgres } from '../support/local-pitr.js';
import { messageOf } from '../support/slack-messages.js';
import { sql, waitUntil } from '../ops/backup/backup-fixtures.js';

const wide = (call: SlackCall) => renderBlocks(messageOf(call), { width: 1_000 });
const textOf = (call: SlackCall) => wide(call).text;
const DATABASE = 'recipes';

describe('point-in-time recovery over Slack', () => {
  let kube: FakeKube;
  let cluster: PitrPostgres;
  let bot: TestBot;
  let url: string;

  beforeAll(async () => {
    // deploy/'s Roles, and the one deploy/database/ adds for the point-in-time restore.
    kube = await startFakeKube({ extraRbacFiles: ['deploy/database/rbac-recipedb-ops.yaml'] });
    kube.addDeployment({ namespace: 'default', name: 'recipe-app', replicas: 3 });
    kube.addDeployment({ namespace: 'recipe-database', name: 'recipe-database', replicas: 1 });
    cluster = await startPitrPostgres();
    cluster.bindToDeployment(kube, 'recipe-database', 'recipe-database');
    await createDemoDatabase(cluster.url(), DATABASE, { recipes: 40, users: 20 });
    url = cluster.url(DATABASE);
    await cluster.pgbackrest.run(['stanza-create']);
    bot = await startTestBot({
      databaseUrl: url,
      kube,
      pitr: cluster.services,
      // STATUS_SOURCE_TIMEOUT: the App Home's pgBackRest part runs `info` and reads the timeline history on a shared CPU.
      env: { APPROVERS: 'U_BOB', PGBACKREST_STANZA: cluster.stanza, PGBACKREST_CONFIG: cluster.configFile, PITR_RESTORE_TIMEOUT: '2m', STATUS_SOURCE_TIMEOUT: '20s' },
    });
  }, 120_000);
  afterAll(async () => {
    await bot?.stop();
    await cluster?.cleanup();
    await kube?.close();
  });

  /** Everything the bot said in Slack since the last reset: messages, edits, and answers through response_url. */
  const said = (): string[] => [
    ...bot.slack.calls.filter((c) => ['chat.postMessage', 'chat.update', 'chat.postEphemeral'].includes(c.method)).map(textOf),
    ...bot.slack.responsePosts.map((p) => renderBlocks({ text: String(p.body.text ?? ''), blocks: (p.body.blocks ?? []) as never[] }, { width: 1_000 }).text),
  ];
  const seen = () => `Slack saw:\n${said().join('\n---\n')}\nlog:\n${bot.log.text().slice(-3000)}`;

  async function answer(text: string, done: (t: string) => boolean, ms = 60_000): Promise<string> {
    bot.slack.reset();
    await bot.client.command(text);
    return waitUntil(async () => said().find(done), ms, `the answer to \`${text}\``).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${seen()}`);
    });
  }

  async function requestAndApprove(text: string): Promise<{ request: string; outcome: string }> {
    bot.slack.reset();
    await bot.client.command(text);
    const call = await waitUntil(async () => bot.slack.calls.find((c) => wide(c).choices.some((x) => x.actionId === 'approval_approve')), 60_000, `the approval request for \`${text}\``).catch(
      (error: unknown) => {
        throw new Error(`${String(error)}\n${seen()}`);
      },
    );
    const approve = wide(call).choices.find((c) => c.actionId === 'approval_approve');
    const ts = call.method === 'chat.update' ? String(call.body.ts) : String(call.response.ts);
    await bot.client.blockAction({ actionId: 'approval_approve', value: approve?.value ?? '', userId: 'U_BOB', messageTs: ts });
    const done = await bot.slack.waitFor('chat.update', (c) => c.body.ts === ts && textOf(c).includes('Outcome:'), 180_000);
    return { request: textOf(call), outcome: textOf(done) };
  }

  const serverNow = async (): Promise<string> => {
    const [row] = await sql<{ now: string }>(url, `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || 'Z' AS now`);
    return row?.now ?? '';
  };
  const timeline = async (): Promise<number> => {
    const [row] = await sql<{ wal: string }>(url, 'SELECT pg_walfile_name(pg_current_wal_lsn()) AS wal');
    return Number.parseInt((row?.wal ?? '').slice(0, 8), 16);
  };
  const keptRows = async (): Promise<number> => Number((await sql<{ n: string }>(url, `SELECT count(*) AS n FROM recipe_manager.users WHERE username LIKE 'pitr-keep-%'`))[0]?.n);
  const lateRows = async (): Promise<number> => Number((await sql<{ n: string }>(url, `SELECT count(*) AS n FROM recipe_manager.users WHERE username LIKE 'pitr-late-%'`))[0]?.n);
  const dbScalePatches = () =>
    kube.requests
      .filter((q) => q.method === 'PATCH' && q.path === '/apis/apps/v1/namespaces/recipe-database/deployments/recipe-database/scale')
      .map((q) => (q.body as { spec: { replicas: number } }).spec.replicas);
  const appScalePatches = () =>
    kube.requests.filter((q) => q.method === 'PATCH' && q.path === '/apis/apps/v1/namespaces/default/deployments/recipe-app/scale').map((q) => (q.body as { spec: { replicas: number } }).spec.replicas);

  it('pitr before any base backup says there is nothing to recover from, and that archiving works', async () => {
    // One segment archived, so the archiver has something to report.
    await sql(url, 'SELECT pg_switch_wal()');
    const text = await answer('pitr', (t) => t.includes('Point-in-time recovery'));
    expect(text).toContain('No base backup yet');
    expect(text).toContain('/recipedb pitr backup --full');
  }, 60_000);

  it('pitr backup --full and pitr backup take base backups; pitr and backups list them with the window', async () => {
    const full = await answer('pitr backup --full', (t) => /Base backup taken|`pitr` failed/.test(t), 120_000);
    expect(full).toMatch(/`\d{8}-\d{6}F` · full/);
    expect(full).toMatch(/Copied: [\d.]+ MiB of [\d.]+ MiB/);
    const incr = await answer('pitr backup', (t) => /Base backup taken|`pitr` failed/.test(t), 120_000);
    expect(incr).toMatch(/`\d{8}-\d{6}F_\d{8}-\d{6}I` · incr/);

    const overview = await answer('pitr', (t) => t.includes('Point-in-time recovery'));
    expect(overview).toMatch(/Recoverable from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC to now \(timeline 1\)/);
    expect(overview).toContain('healthy');
    expect(overview).toMatch(/Base backups \(2\)/);
    expect(overview).toMatch(/\d{8}-\d{6}F_\d{8}-\d{6}I` incr/);
    expect(overview).toMatch(/\d{8}-\d{6}F` full/);
    expect(overview).toMatch(/WAL archive 15-1/);

    const backups = await answer('backups', (t) => t.includes('Base backups (pgBackRest'));
    expect(backups).toMatch(/Base backups \(pgBackRest, recipe-database, 2\)/);

    // The App Home, next to the last dump: the window and the newest base backup.
    await bot.client.event({ type: 'app_home_opened', user: 'U_BOB', channel: 'D_BOB', tab: 'home', event_ts: `${Date.now() / 1000}` });
    await bot.slack.waitFor('views.publish', (c) => c.body.user_id === 'U_BOB', 30_000);
    const home = renderBlocks({ text: '', blocks: (bot.slack.homeView('U_BOB')?.blocks ?? []) as never[] }, { width: 1_000 }).text;
    expect(home).toMatch(/Point-in-time recovery\nrecoverable from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC to now \(timeline 1\)\nnewest base backup `\d{8}-\d{6}F_\d{8}-\d{6}I` \(incr\) · /);
  }, 240_000);

  it('refuses a time without an offset in one sentence, and a time outside the window, before any approval', async () => {
    const noOffset = await answer('restore --to-time 2026-12-03 14:03:00', (t) => t.includes('no UTC offset'));
    expect(noOffset).toContain('"2026-12-03 14:03:00" has no UTC offset, and the bot never guesses one');
    const zoneName = await answer('restore --to-time "2026-12-03 14:03:00 CET"', (t) => t.includes('not a UTC offset'));
    expect(zoneName).toContain('"CET" in "2026-12-03 14:03:00 CET" is not a UTC offset');

    const tooOld = await answer('restore --to-time 2020-01-01T00:00:00Z', (t) => t.includes('Cannot restore'));
    expect(tooOld).toContain('Cannot restore to 2020-01-01 00:00:00 UTC: 2020-01-01 00:00:00 UTC is before the oldest recoverable point');
    expect(tooOld).toContain('no approval was requested');
    const future = await answer('restore --to-time 2099-01-01T00:00:00+01:00', (t) => t.includes('Cannot restore'));
    expect(future).toContain('Cannot restore to 2098-12-31 23:00:00 UTC: 2098-12-31 23:00:00 UTC is in the future');

    const requests = await bot.services.state.query<{ n: number }>(`SELECT count(*)::int AS n FROM approval_requests WHERE action = 'pitr-restore'`);
    expect(requests.rows[0]?.n).toBe(0);
    expect(dbScalePatches()).toEqual([]);
  }, 60_000);

  let safetyPoint: { time: string; timeline: number } | undefined;

  it('restore --to-time a noted moment brings the deleted rows back and not the later ones, on a new timeline', async () => {
    await sql(url, `INSERT INTO recipe_manager.users (username, email, display_name) SELECT 'pitr-keep-' || g, 'keep' || g || '@example.com', 'Keep' FROM generate_series(1, 25) g`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const moment = await serverNow();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sql(url, `DELETE FROM recipe_manager.users WHERE username LIKE 'pitr-keep-%'`);
    await sql(url, `INSERT INTO recipe_manager.users (username, email, display_name) SELECT 'pitr-late-' || g, 'late' || g || '@example.com', 'Late' FROM generate_series(1, 7) g`);
    expect([await keptRows(), await lateRows(), await timeline()]).toEqual([0, 7, 1]);

    // What the state database holds when the application reaches 0: a dead replica's restore is scaled back from it (jobs/app-scale-recovery.ts).
    let atScaleDown: Promise<unknown[]> | undefined;
    kube.onScale('default', 'recipe-app', (replicas) => {
      if (replicas === 0 && atScaleDown === undefined) atScaleDown = bot.services.state.query('SELECT namespace, deployment, replicas, operation FROM app_scale_downs').then((r) => r.rows);
    });
    const { request, outcome } = await requestAndApprove(`restore --to-time ${moment}`);
    const shown = moment.replace('T', ' ').replace(/0*Z$/, ' UTC').replace('. UTC', ' UTC');
    expect(request).toContain('Approval needed: pitr-restore');
    expect(request).toContain(`Restore the whole database server to its state at ${shown}`);
    expect(request).toMatch(/base backup \d{8}-\d{6}F_\d{8}-\d{6}I \(incr, ended .* UTC, database .*\), taken on timeline 1/);
    expect(request).toMatch(/WAL replayed from [0-9A-F]{24} along timeline 1, up to .*: at most \d+ segments/);
    expect(request).toContain('application default/recipe-app: 3 → 0 replicas during the restore, then back to 3');
    expect(request).toContain('database deployment recipe-database/recipe-database: 1 → 0');
    expect(request).toMatch(/runs: pgbackrest --stanza=recipe-database restore --delta --type=time --target="\d{4}-\d\d-\d\d [\d:.]+\+00" --target-action=promote --set=\S+ --target-timeline=1/);

    expect(outcome).toMatch(/Outcome: restored the database server to .* UTC in .*; it is on timeline 2, the application is back at 3 replicas/);
    expect(outcome).toMatch(/1\. check the plan still holds — ok/);
    expect(outcome).toMatch(/2\. scale default\/recipe-app 3 → 0 — ok/);
    expect(outcome).toMatch(/3\. safety point \d{4}-\d\d-\d\d [\d:.]+ UTC \(LSN [0-9A-F]+\/[0-9A-F]+, timeline 1\) — ok .* archived in/);
    expect(outcome).toMatch(/4\. scale recipe-database\/recipe-database 1 → 0 — ok .* the database no longer answers/);
    expect(outcome).toMatch(/5\. restore the data directory to .* from \S+ — ok .*pitr-restore\.sh restored/);
    expect(outcome).toMatch(/6\. scale recipe-database\/recipe-database 0 → 1: recovered to .* UTC, promoted on timeline 2 — ok/);
    expect(outcome).toMatch(/7\. row counts — ok/);
    expect(outcome).toMatch(/recipe_manager\.users: \d+ \(\d+ before the restore\)/);
    expect(outcome).toMatch(/8\. scale default\/recipe-app 0 → 3 — ok .* 3 ready/);
    expect(outcome).toContain('Database: restored to');
    expect(outcome).toContain('now on timeline 2');
    expect(outcome).toMatch(/Safety point: .* to go back to it: \/recipedb restore --to-time \S+Z --timeline 1/);

    // What the operator came for: the deleted rows are back, the later ones are not, on a new timeline.
    expect([await keptRows(), await lateRows(), await timeline()]).toEqual([25, 0, 2]);
    expect(appScalePatches()).toEqual([0, 3]);
    expect(dbScalePatches()).toEqual([0, 1]);
    expect(kube.forbidden).toEqual([]);
    expect(cluster.kubeletErrors).toEqual([]);
    // The application's replicas were written down before the scale to 0 (app-scale-steps.ts) and forgotten once it was back.
    expect(await atScaleDown).toEqual([{ namespace: 'default', deployment: 'recipe-app', replicas: 3, operation: 'pitr-restore' }]);
    const downs = await bot.services.state.query<{ n: number }>('SELECT count(*)::int AS n FROM app_scale_downs');
    expect(downs.rows[0]?.n).toBe(0);
    const go = /--to-time (\S+Z) --timeline (\d+)/.exec(outcome);
    safetyPoint = { time: go?.[1] ?? '', timeline: Number(go?.[2]) };
  }, 240_000);

  it('the safety point takes the database back to just before the restore, along the old timeline', async () => {
    expect(safetyPoint).toBeDefined();
    const { request, outcome } = await requestAndApprove(`restore --to-time ${safetyPoint?.time ?? ''} --timeline ${safetyPoint?.timeline ?? 1}`);
    expect(request).toContain('the database is on timeline 2; --timeline 1 takes it back along timeline 1');
    expect(outcome).toMatch(/it is on timeline 3/);
    // The state before the first restore: the deletion and the later rows.
    expect([await keptRows(), await lateRows(), await timeline()]).toEqual([0, 7, 3]);
  }, 240_000);
});
