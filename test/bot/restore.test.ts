/**
 * `restore` through Slack, as the runbook's "Point-in-Time Recovery": request, approval, the
 * application scaled 3 → 0 → 3 on the (fake) Kubernetes API, a safety backup, the restore, the
 * row counts — and what the operator is told when something is wrong.
 */
import { mkdir, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { readSidecar } from '../../src/ops/backup/sidecar.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import type { SlackCall } from '../support/fake-slack.js';
import { messageOf } from '../support/slack-messages.js';
import { backupIsWaiting, lockRecipes, runbookBackup, sql, tableCounts, tempBackupDir, waitUntil } from '../ops/backup/backup-fixtures.js';

const wide = (call: SlackCall) => renderBlocks(messageOf(call), { width: 1_000 });
const textOf = (call: SlackCall) => wide(call).text;
const isAnswer = (c: SlackCall) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && !textOf(c).includes('Checking the integrity');

describe('restore over Slack, with the application on Kubernetes', () => {
  let kube: FakeKube;
  let bot: TestBot;
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;
  let dir: string;

  beforeAll(async () => {
    kube = await startFakeKube();
    kube.addDeployment({ namespace: 'default', name: 'recipe-app', replicas: 3 });
    backups = await tempBackupDir();
    dir = path.join(backups.dir, 'recipe-database');
    await mkdir(dir);
    bot = await startTestBot({ env: { BACKUP_DIR: dir, APPROVERS: 'U_BOB' }, kube });
  });
  afterAll(async () => {
    await bot.stop();
    await kube.close();
    await backups.cleanup();
  });

  /** The command's final answer (an approval request or a refusal), whether posted or edited into the progress message. */
  async function answerTo(text: string): Promise<SlackCall> {
    bot.slack.reset();
    await bot.client.command(text);
    return waitUntil(async () => bot.slack.calls.find(isAnswer), 20_000, `the answer to \`${text}\``);
  }

  async function requestRestore(text: string): Promise<{ call: SlackCall; ts: string; id: string }> {
    const call = await answerTo(text);
    const approve = wide(call).choices.find((c) => c.actionId === 'approval_approve');
    if (!approve) throw new Error(`no approval request was posted:\n${textOf(call)}`);
    const ts = call.method === 'chat.update' ? String(call.body.ts) : String(call.response.ts);
    return { call, ts, id: approve.value };
  }

  async function approve(r: { ts: string; id: string }): Promise<string> {
    await bot.client.blockAction({ actionId: 'approval_approve', value: r.id, userId: 'U_BOB', messageTs: r.ts });
    return textOf(await bot.slack.waitFor('chat.update', (c) => c.body.ts === r.ts && textOf(c).includes('Outcome:'), 60_000));
  }

  async function takeBackupNow(): Promise<string> {
    // Backups are named to the second: one taken in the same second as the last would be refused.
    await new Promise((resolve) => setTimeout(resolve, 1_020 - (Date.now() % 1_000)));
    bot.slack.reset();
    await bot.client.command('backup');
    const done = await bot.slack.waitFor('chat.update', (c) => /^(Backup |`backup` failed)/.test(String(c.body.text ?? '')), 30_000);
    const name = /^Backup (\S+) written/.exec(String(done.body.text))?.[1];
    if (!name) throw new Error(`no backup: ${String(done.body.text)}`);
    return name;
  }

  const scalePatches = () =>
    kube.requests
      .filter((q) => q.method === 'PATCH' && q.path === '/apis/apps/v1/namespaces/default/deployments/recipe-app/scale')
      .map((q) => (q.body as { spec: { replicas: number } }).spec.replicas);

  const requestCount = async () => (await bot.services.state.query<{ n: number }>('SELECT count(*)::int AS n FROM approval_requests')).rows[0]?.n;

  it('round trip: backup, change data, restore + Approve brings the data back; the app goes 3 → 0 → 3', async () => {
    const before = await tableCounts(bot.databaseUrl);
    const name = await takeBackupNow();

    await sql(bot.databaseUrl, `DELETE FROM recipe_manager.reviews`);
    await sql(bot.databaseUrl, `UPDATE recipe_manager.recipes SET title = 'changed after the backup' WHERE id = 1`);
    await sql(bot.databaseUrl, `INSERT INTO recipe_manager.users (username, email, display_name) VALUES ('late', 'late@example.com', 'Late Comer')`);
    const changed = await tableCounts(bot.databaseUrl);

    const r = await requestRestore('restore latest');
    const request = textOf(r.call);
    expect(request).toContain('Approval needed: restore');
    expect(request).toContain(`with the backup ${name}`);
    expect(request).toContain('application default/recipe-app: 3 → 0 replicas during the restore, then back to 3');
    expect(request).toContain('a safety backup of the current database is taken first');
    // Nothing happens before the approval.
    expect(scalePatches()).toEqual([]);
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(3);

    const outcome = await approve(r);
    expect(outcome).toContain(`Outcome: restored ${name} in `);
    expect(outcome).toContain('the application is back at 3 replicas');
    expect(outcome).toMatch(/1\. integrity check — ok \((?:\d+ms|\d+\.\ds)\)/);
    expect(outcome).toMatch(/2\. scale default\/recipe-app 3 → 0 — ok \((?:\d+ms|\d+\.\ds)\)/);
    expect(outcome).toMatch(/3\. safety backup recipe-database-backup-[\d_-]+\.sql\.gz \([\d.]+ kB\) — ok \((?:\d+ms|\d+\.\ds)\)/);
    expect(outcome).toMatch(new RegExp(`4\\. restore ${name.replaceAll('.', '\\.')} — ok \\((?:\\d+ms|\\d+\\.\\ds)\\)`));
    expect(outcome).toMatch(/5\. row counts — ok/);
    expect(outcome).toContain(`recipe_manager.users: ${(before.users as number).toLocaleString('en-US')} (as at backup time)`);
    expect(outcome).toContain(`recipe_manager.recipes: ${(before.recipes as number).toLocaleString('en-US')} (as at backup time)`);
    expect(outcome).toMatch(/6\. scale default\/recipe-app 0 → 3 — ok \((?:\d+ms|\d+\.\ds)\) · 3 ready/);
    expect(outcome).toContain(`Database: restored from ${name}`);
    expect(outcome).toContain('Application: scaled back to 3 replicas (3 ready)');
    const safetyName = /Safety backup: (recipe-database-backup-[\d_-]+\.sql\.gz)/.exec(outcome)?.[1];
    expect(safetyName).toBeDefined();
    expect(safetyName).not.toBe(name);

    // The data is as at backup time, and the application is back.
    expect(await tableCounts(bot.databaseUrl)).toEqual(before);
    const [recipe] = await sql<{ title: string }>(bot.databaseUrl, 'SELECT title FROM recipe_manager.recipes WHERE id = 1');
    expect(recipe?.title).not.toBe('changed after the backup');
    expect(scalePatches()).toEqual([0, 3]);
    expect(kube.deployment('default', 'recipe-app')).toMatchObject({ spec: { replicas: 3 }, status: { readyReplicas: 3 } });
    // deploy/'s Role in the application's namespace granted every call of the restore.
    expect(kube.forbidden).toEqual([]);

    // The safety backup holds the state just before the restore.
    const safety = await readSidecar(path.join(dir, safetyName as string));
    expect(safety).toMatchObject({ requestedBy: 'restore' });
    expect(safety?.rowCounts?.['recipe_manager.users']).toBe(changed.users);

    const progress = bot.slack.callsTo('chat.update').map(textOf);
    expect(progress.some((t) => t.includes('Step 3/6: safety backup'))).toBe(true);
  }, 90_000);

  it('a corrupt file, an unknown name, a path or a pattern are refused: no request, nothing touched', async () => {
    const name = await takeBackupNow();
    const corrupt = 'recipe-database-backup-2024-02-01_00-00-00.sql.gz';
    await writeFile(path.join(dir, corrupt), await readFile(path.join(dir, name)));
    await truncate(path.join(dir, corrupt), 2_000);
    const patchesBefore = scalePatches().length;
    const requestsBefore = await requestCount();

    const refused = textOf(await answerTo(`restore ${corrupt}`));
    expect(refused).toContain(`Cannot restore: ${corrupt} is corrupt: the gzip data is truncated. Nothing was touched and no approval was requested.`);
    expect(refused).not.toContain('Approve');

    for (const [text, expected] of [
      ['restore recipe-database-backup-1999-01-01_00-00-00.sql.gz', 'there is no backup named "recipe-database-backup-1999-01-01_00-00-00.sql.gz"'],
      [`restore ../${path.basename(dir)}/${name}`, 'there is no backup named'],
      ['restore /etc/passwd', 'there is no backup named "?etc?passwd"'],
      ['restore recipe-database-backup-*.sql.gz', 'there is no backup named "recipe-database-backup-?.sql.gz"'],
    ] as const) {
      expect(textOf(await answerTo(text))).toContain(expected);
    }
    bot.slack.reset();
    await bot.client.command('restore');
    const usage = await bot.slack.waitForResponsePost().catch(() => undefined);
    expect(JSON.stringify(usage?.body ?? '')).toContain('takes one backup name');

    expect(await requestCount()).toBe(requestsBefore);
    expect(scalePatches()).toHaveLength(patchesBefore);
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(3);
    await rm(path.join(dir, corrupt));
  }, 60_000);

  it('a restore that fails halfway is rolled back, and the application is scaled back and says so', async () => {
    // Valid gzip, pg_dump's completion line, but SQL that fails after changing data.
    const failing = 'recipe-database-backup-2024-03-01_00-00-00.sql.gz';
    await writeFile(
      path.join(dir, failing),
      gzipSync(
        [
          '--',
          '-- PostgreSQL database dump',
          '--',
          'SET statement_timeout = 0;',
          'DELETE FROM recipe_manager.reviews;',
          `UPDATE recipe_manager.recipes SET title = 'half-restored';`,
          'SELECT count(*) FROM recipe_manager.no_such_table;',
          '--',
          '-- PostgreSQL database dump complete',
          '--',
          '',
        ].join('\n'),
      ),
    );
    const before = await tableCounts(bot.databaseUrl);
    const patchesBefore = scalePatches().length;

    const r = await requestRestore(`restore ${failing}`);
    const outcome = await approve(r);
    expect(outcome).toContain('Outcome: FAILED at step 4');
    expect(outcome).toMatch(/4\. restore recipe-database-backup-2024-03-01_00-00-00\.sql\.gz — FAILED after (?:\d+ms|\d+\.\ds): psql failed: stopped at line 7 of the dump: ERROR: relation "recipe_manager\.no_such_table" does not exist/);
    expect(outcome).toContain('5. row counts — not run');
    expect(outcome).toMatch(/6\. scale default\/recipe-app 0 → 3 — ok/);
    expect(outcome).toContain('Database: unchanged (the restore ran in one transaction and was rolled back)');
    expect(outcome).toContain('Application: scaled back to 3 replicas');
    expect(outcome).toMatch(/Safety backup: recipe-database-backup-\d{4}-[\d_-]+\.sql\.gz/);

    expect(await tableCounts(bot.databaseUrl)).toEqual(before);
    const titles = await sql<{ n: string }>(bot.databaseUrl, `SELECT count(*) AS n FROM recipe_manager.recipes WHERE title = 'half-restored'`);
    expect(Number(titles[0]?.n)).toBe(0);
    expect(scalePatches().slice(patchesBefore)).toEqual([0, 3]);
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(3);
  }, 60_000);

  it('checks the file again after approval: a file replaced meanwhile is not restored, nothing is touched', async () => {
    const name = await takeBackupNow();
    const r = await requestRestore(`restore ${name}`);
    const file = path.join(dir, name);
    // Same name, different (still valid) content: not the file that was approved.
    const other = (await readdir(dir)).find((f) => f.endsWith('.sql.gz') && f !== name && !f.startsWith('recipe-database-backup-2024'));
    await writeFile(file, await readFile(path.join(dir, other as string)));
    await rm(`${file}.json`);
    const patchesBefore = scalePatches().length;
    const before = await tableCounts(bot.databaseUrl);

    const outcome = await approve(r);
    expect(outcome).toContain('Outcome: FAILED at step 1 (integrity check)');
    expect(outcome).toContain('its SHA-256 differs');
    expect(outcome).toContain('2. stop the application default/recipe-app — not run');
    expect(outcome).toContain('Database: unchanged (nothing was restored)');
    expect(outcome).toContain('Application: not touched');
    expect(outcome).toContain('Safety backup: none (not reached)');
    expect(scalePatches()).toHaveLength(patchesBefore);
    expect(await tableCounts(bot.databaseUrl)).toEqual(before);
  }, 60_000);

  it("restores a file made by the runbook's script (no sidecar), which retention then keeps while in use", async () => {
    const runbookName = 'recipe-database-backup-2024-01-15_10-30-00.sql.gz';
    const before = await tableCounts(bot.databaseUrl);
    await runbookBackup(bot.databaseUrl, path.join(dir, runbookName));
    await sql(bot.databaseUrl, 'DELETE FROM recipe_manager.ingredients WHERE id % 2 = 0');
    expect((await tableCounts(bot.databaseUrl)).ingredients).toBeLessThan(before.ingredients as number);

    const r = await requestRestore(`restore ${runbookName}`);
    expect(textOf(r.call)).toContain('not verified');
    const outcome = await approve(r);
    expect(outcome).toContain(`Outcome: restored ${runbookName}`);
    expect(outcome).toContain(`recipe_manager.ingredients: ${(before.ingredients as number).toLocaleString('en-US')}`);
    expect(outcome).toContain('Application: scaled back to 3 replicas');
    expect(await tableCounts(bot.databaseUrl)).toEqual(before);
    // The safety backup's retention (30 days) ran while this 2024 file was being restored.
    expect(await readdir(dir)).toContain(runbookName);
  }, 60_000);

  /** A report job forgotten in an open transaction: its ACCESS SHARE lock on recipes keeps the dump's DROP waiting. */
  async function forgottenCronJob(): Promise<{ pid: number; state(): Promise<string | undefined>; release(): Promise<void> }> {
    const client = new pg.Client({ connectionString: bot.databaseUrl, application_name: 'cron-report' });
    client.on('error', () => undefined); // it may be terminated by the test
    await client.connect();
    await client.query('BEGIN');
    await client.query('SELECT count(*) FROM recipe_manager.recipes');
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number;
    return {
      pid,
      state: async () => (await sql<{ state: string }>(bot.databaseUrl, 'SELECT state FROM pg_stat_activity WHERE pid = $1', [pid]))[0]?.state,
      async release() {
        await client.query('ROLLBACK').catch(() => undefined);
        await client.end().catch(() => undefined);
      },
    };
  }

  const restoreSessions = () => sql(bot.databaseUrl, `SELECT pid FROM pg_stat_activity WHERE application_name = 'recipedb-ops restore'`);

  it('a restore kept waiting by a lock names who holds it, and past the limit is stopped and rolled back', async () => {
    const name = await takeBackupNow();
    await sql(bot.databaseUrl, `UPDATE recipe_manager.recipes SET title = 'changed after the backup' WHERE id = 1`);
    const before = await tableCounts(bot.databaseUrl);
    const cron = await forgottenCronJob();
    // A bot with a short RESTORE_LOCK_WAIT, on the same databases, Kubernetes and backups.
    const patient = bot;
    await patient.stop();
    bot = await startTestBot({ env: { BACKUP_DIR: dir, APPROVERS: 'U_BOB', RESTORE_LOCK_WAIT: '2s' }, kube, databaseUrl: patient.databaseUrl, stateDatabaseUrl: patient.stateDatabaseUrl });
    try {
      const patchesBefore = scalePatches().length;
      const r = await requestRestore(`restore ${name}`);
      const outcome = await approve(r);

      const progress = bot.slack.callsTo('chat.update').filter((c) => c.body.ts === r.ts).map(textOf);
      const waiting = progress.find((t) => t.includes(`Step 4/6: restoring ${name} — waiting`));
      expect(waiting, progress.join('\n---\n')).toBeDefined();
      expect(waiting).toMatch(
        new RegExp(`waiting [\\d.]+m?s for a lock on recipe_manager\\.\\w+ held by pid ${cron.pid} \\(user \\w+, application cron-report, idle in transaction for [^)]+\\)`),
      );
      expect(waiting).toContain(`end it with \`/recipedb kill ${cron.pid}\``);
      expect(waiting).toContain('the restore is stopped and rolled back if it still waits at 2.0s');

      expect(outcome).toContain(`Outcome: FAILED at step 4 (restore ${name}): stopped after waiting`);
      expect(outcome).toMatch(new RegExp(`4\\. restore ${name.replaceAll('.', '\\.')} — FAILED after [^:]+: stopped after waiting [^ ]+ for a lock on recipe_manager\\.\\w+ held by pid ${cron.pid} \\(`));
      expect(outcome).toContain(`its transaction was rolled back — end it with \`/recipedb kill ${cron.pid}\`, then run the restore again`);
      expect(outcome).toContain('database unchanged (rolled back); the application is back at 3 replicas');
      expect(outcome).toContain('5. row counts — not run');
      expect(outcome).toMatch(/6\. scale default\/recipe-app 0 → 3 — ok/);
      expect(outcome).toContain('Database: unchanged (the restore ran in one transaction and was rolled back)');
      expect(outcome).toContain('Application: scaled back to 3 replicas (3 ready)');

      // Nothing of the restore is left: no session (still holding the tables it dropped), no change.
      expect(await restoreSessions()).toEqual([]);
      expect(await tableCounts(bot.databaseUrl)).toEqual(before);
      const [recipe] = await sql<{ title: string }>(bot.databaseUrl, 'SELECT title FROM recipe_manager.recipes WHERE id = 1');
      expect(recipe?.title).toBe('changed after the backup');
      expect(scalePatches().slice(patchesBefore)).toEqual([0, 3]);
      // The session holding the lock is the operator's to end, not the restore's.
      expect(await cron.state()).toBe('idle in transaction');
    } finally {
      await cron.release();
      await bot.stop();
      bot = await startTestBot({ env: { BACKUP_DIR: dir, APPROVERS: 'U_BOB' }, kube, databaseUrl: patient.databaseUrl, stateDatabaseUrl: patient.stateDatabaseUrl });
    }
  }, 60_000);

  it('the kill the waiting restore suggests ends the holder, and the restore goes on', async () => {
    const name = await takeBackupNow();
    await sql(bot.databaseUrl, `UPDATE recipe_manager.recipes SET title = 'changed while the cron job ran' WHERE id = 1`);
    const cron = await forgottenCronJob();
    try {
      const r = await requestRestore(`restore ${name}`);
      await bot.client.blockAction({ actionId: 'approval_approve', value: r.id, userId: 'U_BOB', messageTs: r.ts });
      const advice = `/recipedb kill ${cron.pid}`;
      await bot.slack.waitFor('chat.update', (c) => c.body.ts === r.ts && textOf(c).includes(advice), 30_000);

      const kill = await requestRestore(advice.replace('/recipedb ', ''));
      await bot.client.blockAction({ actionId: 'approval_approve', value: kill.id, userId: 'U_BOB', messageTs: kill.ts });
      const killed = textOf(await bot.slack.waitFor('chat.update', (c) => c.body.ts === kill.ts && textOf(c).includes('Outcome:'), 20_000));
      expect(killed).toContain(`pid ${cron.pid}: terminated`);

      const outcome = textOf(await bot.slack.waitFor('chat.update', (c) => c.body.ts === r.ts && textOf(c).includes('Outcome:'), 60_000));
      expect(outcome).toContain(`Outcome: restored ${name} in `);
      expect(outcome).toContain('Application: scaled back to 3 replicas (3 ready)');
      const [recipe] = await sql<{ title: string }>(bot.databaseUrl, 'SELECT title FROM recipe_manager.recipes WHERE id = 1');
      expect(recipe?.title).not.toBe('changed while the cron job ran');
    } finally {
      await cron.release();
    }
  }, 60_000);

  it('a restore whose operation lock is lost stops at the next safe point: nothing restored, the application scaled back', async () => {
    const name = await takeBackupNow();
    await sql(bot.databaseUrl, `UPDATE recipe_manager.recipes SET title = 'changed before the lost lock' WHERE id = 1`);
    const before = await tableCounts(bot.databaseUrl);
    const patchesBefore = scalePatches().length;
    const r = await requestRestore(`restore ${name}`);
    // The safety backup waits behind this lock, with the operation lock held.
    const held = await lockRecipes(bot.databaseUrl);
    try {
      await bot.client.blockAction({ actionId: 'approval_approve', value: r.id, userId: 'U_BOB', messageTs: r.ts });
      await backupIsWaiting(bot.databaseUrl);
      const stateDatabase = new URL(bot.stateDatabaseUrl).pathname.slice(1);
      // The state database ends the session that holds the lock (a restart, a network cut).
      const ended = await sql<{ pid: number }>(
        bot.stateDatabaseUrl,
        `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'recipedb-ops operation restore%' AND pg_terminate_backend(pid)`,
        [stateDatabase],
      );
      expect(ended).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    } finally {
      await held.release();
    }
    const outcome = textOf(await bot.slack.waitFor('chat.update', (c) => c.body.ts === r.ts && textOf(c).includes('Outcome:'), 60_000));
    expect(outcome).toContain(`Outcome: STOPPED before step 4 (restore ${name}): the connection holding the lock in the state database was`);
    expect(outcome).toContain('database unchanged; the application is back at 3 replicas');
    expect(outcome).toMatch(/3\. safety backup recipe-database-backup-[\d_-]+\.sql\.gz .* — ok/);
    expect(outcome).toContain(`4. restore ${name} — not run`);
    expect(outcome).toMatch(/6\. scale default\/recipe-app 0 → 3 — ok/);
    expect(outcome).toContain('Database: unchanged (nothing was restored)');
    expect(await tableCounts(bot.databaseUrl)).toEqual(before);
    const [recipe] = await sql<{ title: string }>(bot.databaseUrl, 'SELECT title FROM recipe_manager.recipes WHERE id = 1');
    expect(recipe?.title).toBe('changed before the lost lock');
    expect(scalePatches().slice(patchesBefore)).toEqual([0, 3]);
  }, 60_000);

  it('when Kubernetes fails while scaling back, the report says the application is still at 0 replicas and how to fix it', async () => {
    const slow = 'recipe-database-backup-2024-04-01_00-00-00.sql.gz';
    await writeFile(
      path.join(dir, slow),
      gzipSync(['SELECT pg_sleep(1.5);', 'SELECT count(*) FROM recipe_manager.no_such_table;', '-- PostgreSQL database dump complete', ''].join('\n')),
    );
    const patchesBefore = scalePatches().length;
    const r = await requestRestore(`restore ${slow}`);
    await bot.client.blockAction({ actionId: 'approval_approve', value: r.id, userId: 'U_BOB', messageTs: r.ts });
    // The application is stopped; Kubernetes breaks before it is started again.
    await waitUntil(async () => (scalePatches().length > patchesBefore ? true : undefined), 20_000, 'the scale to 0');
    kube.failWith('/apis/apps/v1/namespaces/default/deployments/recipe-app/scale', 500);
    let outcome: string;
    try {
      outcome = textOf(await bot.slack.waitFor('chat.update', (c) => c.body.ts === r.ts && textOf(c).includes('Outcome:'), 60_000));
    } finally {
      kube.failWith(null, 0);
    }
    expect(outcome).toContain('Outcome: FAILED at step 4');
    expect(outcome).toContain('database unchanged (rolled back); the application is STILL AT 0 REPLICAS');
    expect(outcome).toMatch(/6\. scale default\/recipe-app 0 → 3 — FAILED after [^:]+: Kubernetes could not scale the deployment default\/recipe-app/);
    expect(outcome).toContain('Database: unchanged (the restore ran in one transaction and was rolled back)');
    expect(outcome).toContain('Application: STILL AT 0 REPLICAS — scale it back: /recipedb scale recipe-app 3');
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(0);

    // The fix it names works.
    const fix = await requestRestore('scale recipe-app 3');
    await bot.client.blockAction({ actionId: 'approval_approve', value: fix.id, userId: 'U_BOB', messageTs: fix.ts });
    await bot.slack.waitFor('chat.update', (c) => c.body.ts === fix.ts && textOf(c).includes('Outcome:'), 20_000);
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(3);
    // Every restore and scale above stayed within deploy/'s RBAC.
    expect(kube.forbidden).toEqual([]);
  }, 60_000);
});

describe('restore without Kubernetes', () => {
  let bot: TestBot;
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;

  beforeAll(async () => {
    backups = await tempBackupDir();
    bot = await startTestBot({ env: { BACKUP_DIR: backups.dir, APPROVERS: 'U_BOB' } });
  });
  afterAll(async () => {
    await bot.stop();
    await backups.cleanup();
  });

  it('skips the scale steps and says so, and is not a failure', async () => {
    await bot.client.command('backup');
    await bot.slack.waitFor('chat.update', (c) => String(c.body.text ?? '').startsWith('Backup '), 30_000);
    await sql(bot.databaseUrl, `UPDATE recipe_manager.recipes SET title = 'changed' WHERE id = 2`);
    bot.slack.reset();
    await bot.client.command('restore latest');
    const call = await waitUntil(async () => bot.slack.calls.find(isAnswer), 20_000, 'the approval request');
    expect(textOf(call)).toContain('NOT stopped — Kubernetes is not configured');
    const id = wide(call).choices.find((c) => c.actionId === 'approval_approve')?.value as string;
    const ts = String(call.body.ts ?? call.response.ts);
    await bot.client.blockAction({ actionId: 'approval_approve', value: id, userId: 'U_BOB', messageTs: ts });
    const outcome = textOf(await bot.slack.waitFor('chat.update', (c) => c.body.ts === ts && textOf(c).includes('Outcome:'), 60_000));
    expect(outcome).toContain('✅ Outcome: restored');
    expect(outcome).toContain('2. stop the application default/recipe-app — skipped: Kubernetes is not configured');
    expect(outcome).toContain('6. start the application default/recipe-app — skipped: Kubernetes is not configured');
    expect(outcome).toContain('Application: not touched — Kubernetes is not configured');
    const [recipe] = await sql<{ title: string }>(bot.databaseUrl, 'SELECT title FROM recipe_manager.recipes WHERE id = 2');
    expect(recipe?.title).not.toBe('changed');
  }, 60_000);
});
