/**
 * `restore` through Slack, as the runbook's "Point-in-Time Recovery": request, approval, the
 * application scaled 3 → 0 → 3 on the (fake) Kubernetes API, a safety backup, the restore, the
 * row counts — and what the operator is told when something is wrong.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { readSidecar } from '../../src/ops/backup/sidecar.js';
import { acquireOperationLock } from '../../src/ops/operation-lock.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import type { SlackCall } from '../support/fake-slack.js';
import { messageOf } from '../support/slack-messages.js';
import { backupIsWaiting, hostileFiles, lockRecipes, plantedDump, runbookBackup, sql, tableCounts, tempBackupDir, waitUntil } from '../ops/backup/backup-fixtures.js';
import { createTestDatabase } from '../support/postgres.js';

const wide = (call: SlackCall) => renderBlocks(messageOf(call), { width: 1_000 });
const textOf = (call: SlackCall) => wide(call).text;
const isAnswer = (c: SlackCall) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && !textOf(c).includes('Checking ');

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

  /** `backup import <name>`, approved by the second person: the file is then accepted for verify and restore. */
  async function importBackup(name: string): Promise<string> {
    const r = await requestRestore(`backup import ${name}`);
    const outcome = await approve(r);
    expect(outcome).toContain(`Outcome: imported ${name}`);
    return textOf(r.call);
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

  /** Runs `work` with a bot started with `env` added, on the same databases, Kubernetes and backups; then the usual bot again. */
  async function withBot(env: Record<string, string>, work: () => Promise<void>): Promise<void> {
    const usual = bot;
    await usual.stop();
    bot = await startTestBot({ env: { BACKUP_DIR: dir, APPROVERS: 'U_BOB', ...env }, kube, databaseUrl: usual.databaseUrl, stateDatabaseUrl: usual.stateDatabaseUrl });
    try {
      await work();
    } finally {
      await bot.stop().catch(() => undefined);
      bot = await startTestBot({ env: { BACKUP_DIR: dir, APPROVERS: 'U_BOB' }, kube, databaseUrl: usual.databaseUrl, stateDatabaseUrl: usual.stateDatabaseUrl });
    }
  }

  const outcomeOf = async (ts: string, ms = 60_000) => textOf(await bot.slack.waitFor('chat.update', (c) => c.body.ts === ts && textOf(c).includes('Outcome:'), ms));

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
    expect(outcome).toMatch(/3\. safety backup recipe-database-backup-[\d_-]+\.sql\.gz \([\d.]+ KiB\) — ok \((?:\d+ms|\d+\.\ds)\)/);
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

  it('a corrupt file, a file the bot did not write, an unknown name, a path or a pattern are refused: no request, nothing touched', async () => {
    const name = await takeBackupNow();
    const corrupt = 'recipe-database-backup-2024-02-01_00-00-00.sql.gz';
    await writeFile(path.join(dir, corrupt), await readFile(path.join(dir, name)));
    await truncate(path.join(dir, corrupt), 2_000);
    const patchesBefore = scalePatches().length;
    const requestsBefore = await requestCount();

    const refused = textOf(await answerTo(`restore ${corrupt}`));
    expect(refused).toContain(`Cannot restore: ${corrupt} was not written by the bot: \`backup import ${corrupt}\` to use it. Nothing was touched.`);
    expect(refused).not.toContain('Approve');
    // Nor is it accepted for import: it is not whole.
    expect(textOf(await answerTo(`backup import ${corrupt}`))).toContain(`Cannot import: ${corrupt} is corrupt: the gzip data is truncated. Nothing was touched and no approval was requested.`);
    // A file the bot wrote, damaged in place (same size): its integrity check refuses it.
    const damaged = await takeBackupNow();
    const bytes = await readFile(path.join(dir, damaged));
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    await writeFile(path.join(dir, damaged), bytes);
    expect(textOf(await answerTo(`restore ${damaged}`))).toMatch(
      new RegExp(`Cannot restore: ${damaged.replaceAll('.', '\\.')} (is corrupt|is not the file that was written)[^\n]*Nothing was touched and no approval was requested\\.`),
    );

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
    // (The last backup's retention may have removed the 2024 file already.)
    await rm(path.join(dir, corrupt), { force: true });
    await rm(path.join(dir, damaged));
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
    await importBackup(failing);
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
    expect(outcome).toMatch(/its SHA-256 differs|is not the file the bot recorded under that name/);
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

    // Not written by the bot: listed as such, refused until imported, and the import request says what it is.
    expect(textOf(await answerTo('backups'))).toContain(`${runbookName}\` · `);
    expect(textOf(await answerTo('backups'))).toContain(`not written by the bot — \`backup import ${runbookName}\` to use it`);
    expect(textOf(await answerTo(`restore ${runbookName}`))).toContain(`Cannot restore: ${runbookName} was not written by the bot`);
    const request = await importBackup(runbookName);
    expect(request).toContain(`Accept ${runbookName}, a backup file the bot did NOT write, for verify and restore`);
    expect(request).toMatch(new RegExp(`${runbookName.replaceAll('.', '\\.')}: [\\d.]+ \\w+ \\(\\d+ bytes\\), SHA-256 [0-9a-f]{64}`));
    expect(request).toContain("NOT written by the bot: the state database has no record of it (made outside the bot, e.g. by the runbook's script)");
    expect(textOf(await answerTo('backups'))).toMatch(new RegExp(`${runbookName.replaceAll('.', '\\.')}\` · [^\n]* · not verified · imported`));

    const r = await requestRestore(`restore ${runbookName}`);
    expect(textOf(r.call)).toContain('not verified');
    expect(textOf(r.call)).toContain('imported (not written by the bot), approved by U_BOB');
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

  it('a file swapped while the safety backup waits is not restored: psql never reads it, the restore is rolled back and says so', async () => {
    const approvedName = await takeBackupNow();
    await sql(bot.databaseUrl, `UPDATE recipe_manager.recipes SET title = 'in the other backup' WHERE id = 1`);
    const otherName = await takeBackupNow();
    await sql(bot.databaseUrl, `UPDATE recipe_manager.recipes SET title = 'current' WHERE id = 1`);
    const before = await tableCounts(bot.databaseUrl);
    const patchesBefore = scalePatches().length;
    const r = await requestRestore(`restore ${approvedName}`);
    const recipes = await lockRecipes(bot.databaseUrl);
    try {
      await bot.client.blockAction({ actionId: 'approval_approve', value: r.id, userId: 'U_BOB', messageTs: r.ts });
      await backupIsWaiting(bot.databaseUrl);
      // Step 1 has passed; while the safety backup waits, someone with write access swaps the file.
      await writeFile(path.join(dir, approvedName), await readFile(path.join(dir, otherName)));
    } finally {
      await recipes.release();
    }
    const outcome = await outcomeOf(r.ts);
    expect(outcome).toContain(`Outcome: FAILED at step 4 (restore ${approvedName}): ${approvedName} is not the file that was approved: its bytes differ from those recorded `);
    expect(outcome).toContain('; nothing of it was kept — database unchanged (rolled back); the application is back at 3 replicas');
    expect(outcome).toContain('Database: unchanged (the restore ran in one transaction and was rolled back)');
    expect(outcome).toContain('Application: scaled back to 3 replicas');
    expect(await tableCounts(bot.databaseUrl)).toEqual(before);
    const [recipe] = await sql<{ title: string }>(bot.databaseUrl, 'SELECT title FROM recipe_manager.recipes WHERE id = 1');
    expect(recipe?.title).toBe('current');
    expect(scalePatches().slice(patchesBefore)).toEqual([0, 3]);
    await rm(path.join(dir, approvedName));
  }, 60_000);

  it("a session that calls itself 'recipedb-ops restore' is not taken for the restore's own: the watchdog never ends it", async () => {
    const name = await takeBackupNow();
    // Someone's session, named like the restore's psql, waiting on a lock of its own for longer than RESTORE_LOCK_WAIT.
    const holder = new pg.Client({ connectionString: bot.databaseUrl, application_name: 'spoof-holder' });
    const spoof = new pg.Client({ connectionString: bot.databaseUrl, application_name: 'recipedb-ops restore' });
    spoof.on('error', () => undefined);
    await holder.connect();
    await spoof.connect();
    // (An advisory lock: the safety backup's pg_dump must not wait for it too.)
    await holder.query('SELECT pg_advisory_lock(4242)');
    const spoofPid = (await spoof.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number;
    const spoofWait = spoof.query('SELECT pg_advisory_lock(4242)').catch((e: Error) => e.message);
    const cron = await forgottenCronJob();
    try {
      await withBot({ RESTORE_LOCK_WAIT: '5s' }, async () => {
        await new Promise((resolve) => setTimeout(resolve, 5_500)); // the spoof now waits past the limit
        const r = await requestRestore(`restore ${name}`);
        await bot.client.blockAction({ actionId: 'approval_approve', value: r.id, userId: 'U_BOB', messageTs: r.ts });
        // The real psql waits behind the cron job; the watchdog names that, by psql's own pid…
        await bot.slack.waitFor('chat.update', (c) => c.body.ts === r.ts && textOf(c).includes(`held by pid ${cron.pid}`), 30_000);
        await cron.release();
        const outcome = await outcomeOf(r.ts);
        expect(outcome).toContain(`Outcome: restored ${name} in `);
      });
      // …and left the spoofing session alone, still waiting for its own lock.
      const [row] = await sql<{ wait: string | null }>(bot.databaseUrl, 'SELECT wait_event_type AS wait FROM pg_stat_activity WHERE pid = $1', [spoofPid]);
      expect(row?.wait).toBe('Lock');
    } finally {
      await cron.release();
      await holder.end().catch(() => undefined);
      await spoofWait;
      await spoof.end().catch(() => undefined);
    }
  }, 90_000);

  it('`scale` is refused while a restore runs, and an approved scale is not carried out during one', async () => {
    const pending = await requestRestore('scale recipe-app 2');
    const restore = await acquireOperationLock(bot.services.state, { kind: 'restore', by: 'U_CAROL' });
    try {
      expect(textOf(await answerTo('scale recipe-app 2'))).toContain(
        'Cannot scale now: a restore is running (started by @U_CAROL), and it scales the application itself (to 0, then back). Try again when it is done.',
      );
      const outcome = await approve(pending);
      expect(outcome).toContain('Outcome: a restore is running (started by @U_CAROL), which scales the application itself; nothing was done');
    } finally {
      await restore.release();
    }
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(3);
  }, 30_000);

  it('a shutdown while the application is being stopped stops waiting, scales it back and reports it, within the clean-up time', async () => {
    const name = await takeBackupNow();
    const patchesBefore = scalePatches().length;
    await withBot({ SHUTDOWN_GRACE: '1s' }, async () => {
      const r = await requestRestore(`restore ${name}`);
      kube.rolloutDelayMs = 120_000; // its pods take their time to stop
      try {
        await bot.client.blockAction({ actionId: 'approval_approve', value: r.id, userId: 'U_BOB', messageTs: r.ts });
        await waitUntil(async () => (scalePatches().length > patchesBefore ? true : undefined), 20_000, 'the scale to 0');
        const started = Date.now();
        const drained = await bot.bot.drain();
        expect(drained.unfinished).toBe(0);
        expect(Date.now() - started).toBeLessThan(11_000 + 5_000);
        const outcome = textOf(bot.slack.callsTo('chat.update').filter((c) => c.body.ts === r.ts && textOf(c).includes('Outcome:')).at(-1) as SlackCall);
        expect(outcome).toContain('Outcome: FAILED at step 2 (stop the application default/recipe-app): stopped while default/recipe-app was stopping');
        expect(outcome).toContain('the bot was shutting down');
        expect(outcome).toContain('Application: scaled back to 3 replicas (not followed to ready: the bot was shutting down)');
        expect(outcome).toContain('Database: unchanged (nothing was restored)');
      } finally {
        kube.rolloutDelayMs = 0;
      }
    });
    expect(scalePatches().slice(patchesBefore)).toEqual([0, 3]);
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(3);
    // Scaled back by the restore itself: nothing is left for another replica to scale back.
    expect((await bot.services.state.query('SELECT * FROM app_scale_downs')).rows).toEqual([]);
  }, 90_000);

  it('a planted file with psql meta-commands, once imported, runs none of them through `backup verify` or `restore`', async () => {
    const markers = path.join(backups.dir, 'markers');
    await mkdir(markers, { recursive: true });
    const otherUrl = await createTestDatabase('other');
    await sql(otherUrl, 'CREATE TABLE planted_target (id int)');
    const before = await tableCounts(bot.databaseUrl);
    for (const planted of hostileFiles(markers, new URL(otherUrl).pathname.slice(1))) {
      await writeFile(path.join(dir, planted.name), plantedDump(planted.lines));
      // Not written by the bot: neither verified nor restored until someone approves it.
      expect(textOf(await answerTo(`backup verify ${planted.name}`))).toContain(`Cannot verify: ${planted.name} was not written by the bot`);
      await importBackup(planted.name);

      bot.slack.reset();
      await bot.client.command(`backup verify ${planted.name}`);
      const verified = textOf(
        await waitUntil(async () => bot.slack.calls.find((c) => c.method.startsWith('chat.') && /failed verification|Backup verified/.test(textOf(c))), 30_000, 'the verification'),
      );
      expect(verified).toContain(`${planted.name}\` failed verification`);
      expect(verified).toMatch(/it does not restore: psql failed: stopped at line 7 of the dump: (it holds a psql meta-command|\\unrestrict: wrong key)/);

      const r = await requestRestore(`restore ${planted.name}`);
      const outcome = await approve(r);
      expect(outcome).toMatch(new RegExp(`Outcome: FAILED at step 4 \\(restore ${planted.name.replaceAll('.', '\\.')}\\): psql failed: stopped at line 7 of the dump`));
      expect(outcome).toContain('Database: unchanged (the restore ran in one transaction and was rolled back)');
      if (planted.marker) expect(existsSync(planted.marker), planted.marker).toBe(false);
      await rm(path.join(dir, planted.name));
    }
    expect(await sql(otherUrl, 'SELECT * FROM planted_target')).toEqual([]);
    expect(await tableCounts(bot.databaseUrl)).toEqual(before);
    expect(await sql(bot.databaseUrl, `SELECT to_regclass('public.planted_probe') AS probe`)).toEqual([{ probe: null }]);
  }, 180_000);

  it('when Kubernetes fails while scaling back, the report says the application is still at 0 replicas and how to fix it', async () => {
    const slow = 'recipe-database-backup-2024-04-01_00-00-00.sql.gz';
    await writeFile(
      path.join(dir, slow),
      gzipSync(['SELECT pg_sleep(1.5);', 'SELECT count(*) FROM recipe_manager.no_such_table;', '-- PostgreSQL database dump complete', ''].join('\n')),
    );
    await importBackup(slow);
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
    expect(textOf(call)).toContain('will NOT be stopped — Kubernetes is not configured, so it keeps running while its database is replaced');
    expect(textOf(call)).toContain('— the application will NOT be stopped (Kubernetes is not configured)');
    const id = wide(call).choices.find((c) => c.actionId === 'approval_approve')?.value as string;
    const ts = String(call.body.ts ?? call.response.ts);
    await bot.client.blockAction({ actionId: 'approval_approve', value: id, userId: 'U_BOB', messageTs: ts });
    const outcome = textOf(await bot.slack.waitFor('chat.update', (c) => c.body.ts === ts && textOf(c).includes('Outcome:'), 60_000));
    expect(outcome).toContain('✅ Outcome: restored');
    expect(outcome).toContain('2. stop the application default/recipe-app — skipped: Kubernetes is not configured');
    expect(outcome).toContain('6. start the application default/recipe-app — skipped: Kubernetes is not configured');
    expect(outcome).toContain('Application: NOT STOPPED — Kubernetes is not configured, so default/recipe-app kept running while its database was replaced');
    expect(outcome).toContain('Next: check default/recipe-app: it kept running during the restore');
    const [recipe] = await sql<{ title: string }>(bot.databaseUrl, 'SELECT title FROM recipe_manager.recipes WHERE id = 2');
    expect(recipe?.title).not.toBe('changed');
  }, 60_000);
});
