/**
 * SIGTERM, as Kubernetes sends it on a rollout: the bot stops taking commands, lets a running
 * backup finish within SHUTDOWN_GRACE (or stops it, leaving no file under the final name), closes
 * its pools and exits 0. The backup is held in place by a lock a test session keeps on a table.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RESTARTING } from '../../src/bot/draining.js';
import { startBotProcess, type BotProcess } from '../support/bot-process.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';
import { textOf } from '../support/slack-messages.js';
import { backupIsWaiting, lockRecipes, tempBackupDir } from '../ops/backup/backup-fixtures.js';

/** The bot's sessions on its two databases (other test files run bots on the same server). */
async function botSessions(url: string, stateUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const names = [url, stateUrl].map((u) => new URL(u).pathname.slice(1));
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'recipedb-ops%' AND datname = ANY($1)`,
      [names],
    );
    return rows[0]?.n ?? -1;
  } finally {
    await client.end();
  }
}

describe('SIGTERM', () => {
  let slack: FakeSlack;
  let databaseUrl: string;
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;
  let bot: BotProcess | undefined;
  let lock: { release(): Promise<void> } | undefined;

  beforeAll(async () => {
    slack = await startFakeSlack();
    databaseUrl = await createDemoTestDatabase();
    backups = await tempBackupDir();
  });
  afterEach(async () => {
    await lock?.release();
    await bot?.stop();
    slack.reset();
  });
  afterAll(async () => {
    await slack.close();
    await backups.cleanup();
  });

  let stateUrl: string;
  const start = async (dir: string, grace: string) => {
    stateUrl = await createTestDatabase('state');
    bot = await startBotProcess({
      slack,
      env: { DATABASE_URL: databaseUrl, STATE_DATABASE_URL: stateUrl, BACKUP_DIR: dir, SHUTDOWN_GRACE: grace },
    });
    return bot;
  };

  it('lets a running backup finish, refuses new commands meanwhile, then exits 0 with its pools closed', async () => {
    const dir = path.join(backups.dir, 'finishes');
    const bot = await start(dir, '60s');
    lock = await lockRecipes(databaseUrl);
    await bot.client.command('backup');
    await backupIsWaiting(databaseUrl);

    bot.kill('SIGTERM');
    await bot.waitForLog((l) => l.msg.startsWith('shutting down'));
    expect((await fetch(`${bot.baseUrl}/readyz`)).status).toBe(503);
    expect((await fetch(`${bot.baseUrl}/healthz`)).status).toBe(200);
    const refused = await bot.client.command('status');
    expect(refused.status).toBe(200);
    expect(JSON.stringify(refused.json)).toContain(RESTARTING);
    expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/\.sql\.gz$/));

    await lock.release();
    lock = undefined;
    const done = await slack.waitFor('chat.update', (c) => String(c.body.text ?? '').startsWith('Backup '), 20_000);
    expect(textOf(done)).toContain('Backup written');
    expect((await bot.exited).code).toBe(0);
    const files = await readdir(dir);
    expect(files.filter((f) => /^recipe-database-backup-[\d_-]+\.sql\.gz$/.test(f))).toHaveLength(1);
    expect(files.filter((f) => !f.endsWith('.sql.gz') && !f.endsWith('.json'))).toEqual([]);
    expect(bot.logs.at(-1)?.msg).toBe('stopped');
    expect(await botSessions(databaseUrl, stateUrl)).toBe(0);
    // Nothing else ran: the refused status never reached the database or the channel.
    expect(slack.callsTo('chat.postMessage').map((c) => String(c.body.text))).not.toContainEqual(expect.stringMatching(/^Status|status/));
  });

  it('stops a backup that outlasts the grace period: no file under the final name, the channel is told, exit 0', async () => {
    const dir = path.join(backups.dir, 'stopped');
    const bot = await start(dir, '1s');
    lock = await lockRecipes(databaseUrl);
    await bot.client.command('backup');
    await backupIsWaiting(databaseUrl);

    bot.kill('SIGTERM');
    const failed = await slack.waitFor('chat.update', (c) => /backup.*failed/i.test(String(c.body.text ?? '')), 20_000);
    expect(textOf(failed).replace(/\s+/g, ' ')).toContain('the bot was restarting and stopped the backup before it finished; no file was kept');
    expect((await bot.exited).code).toBe(0);
    expect(await readdir(dir).catch(() => [])).toEqual([]);
    expect(bot.logs.some((l) => l.msg.startsWith('shutdown grace period is over'))).toBe(true);
  });
});
