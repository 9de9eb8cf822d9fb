/**
 * A bot process SIGKILLed in the middle of a restore (out of memory, a lost node): its psql is left
 * with the rest of its input, then the end of it — and the database must be exactly as it was,
 * because the bot writes the COMMIT itself, only after the whole file. The application it had
 * scaled to 0 is scaled back by the next replica to start, which says so in OPS_CHANNEL. On the
 * way, what pg_dump and psql get from the bot's environment is read from /proc: only PATH, HOME,
 * the locale and the PG* variables, never the tokens or the state database's URL.
 */
import { readdir, readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBotProcess, type BotProcess } from '../support/bot-process.js';
import { TEST_BOT_TOKEN, TEST_SIGNING_SECRET } from '../support/bot.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';
import { rendered, textOf, tsOf } from '../support/slack-messages.js';
import { backupIsWaiting, lockRecipes, sql, tableCounts, tempBackupDir, waitUntil } from '../ops/backup/backup-fixtures.js';

/** The child process of `parent` running `command`, from /proc. */
async function childProcess(parent: number, command: string): Promise<number> {
  return waitUntil(async () => {
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
      // pid (comm) state ppid …
      const match = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
      if (match?.[1] === command && Number(match[2]) === parent) return Number(entry);
    }
    return undefined;
  }, 10_000, `${command} under pid ${parent}`);
}

/** The environment a process was started with, from /proc/<pid>/environ. */
async function environOf(pid: number): Promise<Record<string, string>> {
  const raw = await readFile(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(
    raw
      .split('\0')
      .filter(Boolean)
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

function expectOnlyWhatTheToolNeeds(env: Record<string, string>, secrets: string[]): void {
  for (const name of Object.keys(env)) expect(name, `${name} in the tool's environment`).toMatch(/^(PATH|HOME|LC_ALL|LANG|PG[A-Z_]+)$/);
  expect(env.PGHOST).toBeDefined();
  expect(env.LC_ALL).toBe('C');
  const all = JSON.stringify(env);
  for (const secret of secrets) expect(all).not.toContain(secret);
}

describe('a bot killed mid-restore', () => {
  let slack: FakeSlack;
  let kube: FakeKube;
  let databaseUrl: string;
  let stateUrl: string;
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;
  const bots: BotProcess[] = [];
  const held: { release(): Promise<void> }[] = [];

  beforeAll(async () => {
    [slack, kube, databaseUrl, stateUrl, backups] = await Promise.all([startFakeSlack(), startFakeKube(), createDemoTestDatabase(), createTestDatabase('state'), tempBackupDir()]);
    kube.addDeployment({ namespace: 'default', name: 'recipe-app', replicas: 3 });
  });
  afterEach(async () => {
    await Promise.all(held.splice(0).map((h) => h.release()));
    await Promise.all(bots.splice(0).map((b) => b.stop()));
  });
  afterAll(async () => {
    await slack.close();
    await kube.close();
    await backups.cleanup();
  });

  const start = async (): Promise<BotProcess> => {
    const bot = await startBotProcess({
      slack,
      env: {
        DATABASE_URL: databaseUrl,
        STATE_DATABASE_URL: stateUrl,
        BACKUP_DIR: backups.dir,
        APPROVERS: 'U_BOB',
        OPS_CHANNEL: 'C_OPS',
        KUBECONFIG: kube.kubeconfigPath,
        REPLICA_TIMEOUT: '2s',
        LOG_LEVEL: 'info',
      },
    });
    bots.push(bot);
    return bot;
  };

  it('leaves the database unchanged, and the next replica scales the application back and says so', async () => {
    const secrets = [TEST_BOT_TOKEN, TEST_SIGNING_SECRET, new URL(stateUrl).pathname.slice(1)];
    const a = await start();

    // A backup, held by a lock long enough to read pg_dump's environment.
    const recipes = await lockRecipes(databaseUrl);
    await a.client.command('backup', { userId: 'U_ALICE' });
    await backupIsWaiting(databaseUrl);
    expectOnlyWhatTheToolNeeds(await environOf(await childProcess(a.pid, 'pg_dump')), secrets);
    await recipes.release();
    const written = await slack.waitFor('chat.update', (c) => /^Backup \S+ written/.test(String(c.body.text ?? '')), 30_000);
    const name = /^Backup (\S+) written/.exec(String(written.body.text))?.[1] as string;

    await sql(databaseUrl, `UPDATE recipe_manager.recipes SET title = 'changed after the backup' WHERE id = 1`);
    const before = await tableCounts(databaseUrl);

    // A report job's open transaction keeps the restore's DROP TABLE waiting, mid-dump.
    const cron = new pg.Client({ connectionString: databaseUrl, application_name: 'cron-report' });
    await cron.connect();
    await cron.query('BEGIN');
    await cron.query('SELECT count(*) FROM recipe_manager.recipes');
    held.push({ release: () => cron.query('ROLLBACK').then(() => cron.end()).catch(() => undefined) });

    slack.reset();
    await a.client.command(`restore ${name}`, { userId: 'U_ALICE' });
    // The request is drawn into the message that showed the integrity check's progress.
    const request = await waitUntil(async () => slack.calls.find((c) => c.method.startsWith('chat.') && rendered(c).choices.some((x) => x.actionId === 'approval_approve')), 20_000, 'the request');
    const requestTs = request.method === 'chat.update' ? String(request.body.ts) : tsOf(request);
    const id = rendered(request).choices.find((c) => c.actionId === 'approval_approve')?.value as string;
    await a.client.blockAction({ actionId: 'approval_approve', value: id, userId: 'U_BOB', messageTs: requestTs });
    const psqlSession = await waitUntil(async () => {
      const rows = await sql<{ pid: number }>(
        databaseUrl,
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'recipedb-ops restore' AND wait_event_type = 'Lock'`,
      );
      return rows[0]?.pid;
    }, 30_000, 'the restore to wait for the lock');
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(0);
    expectOnlyWhatTheToolNeeds(await environOf(await childProcess(a.pid, 'psql')), secrets);

    // The bot dies; then the lock goes, and its orphaned psql reads what was left of its input, and its end.
    a.kill('SIGKILL');
    await a.exited;
    await Promise.all(held.splice(0).map((h) => h.release()));
    await waitUntil(async () => ((await sql(databaseUrl, 'SELECT 1 FROM pg_stat_activity WHERE pid = $1', [psqlSession])).length === 0 ? true : undefined), 30_000, 'psql to end');

    expect(await tableCounts(databaseUrl)).toEqual(before);
    const [recipe] = await sql<{ title: string }>(databaseUrl, 'SELECT title FROM recipe_manager.recipes WHERE id = 1');
    expect(recipe?.title).toBe('changed after the backup');
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(0);

    // The next replica to start finds "recipe-app had 3 replicas" and puts them back, saying so.
    slack.reset();
    await start();
    const said = await slack.waitFor('chat.postMessage', (c) => c.body.channel === 'C_OPS' && textOf(c).includes('Scaled default/recipe-app back to 3 replicas'), 20_000);
    expect(textOf(said).replace(/\s+/g, ' ')).toContain('the bot replica running a restore stopped with it at 0');
    expect(kube.deployment('default', 'recipe-app')?.spec.replicas).toBe(3);
    // And the request's message says the restore was interrupted.
    await slack.waitFor('chat.update', (c) => c.body.ts === requestTs && textOf(c).includes('interrupted'), 20_000);
    expect(kube.forbidden).toEqual([]);
  }, 120_000);
});
