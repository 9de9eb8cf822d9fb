/** `backup` through Slack: a signed slash command in, progress and the result posted to the channel. */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import type { Message } from '../../src/bot/blocks.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import type { SlackCall } from '../support/fake-slack.js';
import { tempBackupDir } from '../ops/backup/backup-fixtures.js';

function textOf(call: SlackCall): string {
  return renderBlocks({ text: String(call.body.text ?? ''), blocks: (call.body.blocks ?? []) as Message['blocks'] }, { width: 400 }).text;
}

describe('backup over Slack', () => {
  let bot: TestBot;
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;
  let dir: string;

  beforeAll(async () => {
    backups = await tempBackupDir();
    dir = path.join(backups.dir, 'recipe-database');
    bot = await startTestBot({ env: { BACKUP_DIR: dir } });
  });
  afterAll(async () => {
    await bot.stop();
    await backups.cleanup();
  });

  it('reports the last successful backup as 0 (never) while BACKUP_DIR holds none the bot wrote, whatever files are planted there', async () => {
    // A file named for 2099 (or a runbook copy) is not a backup the bot took: the backup-missing alert must still fire.
    const planted = 'recipe-database-backup-2099-01-01_00-00-00.sql.gz';
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, planted), gzipSync('-- PostgreSQL database dump complete\n'));
    try {
      const metrics = await (await fetch(`${bot.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(/^recipedb_ops_backup_last_success_timestamp_seconds 0$/m);
    } finally {
      await rm(path.join(dir, planted));
    }
  });

  it('acks at once, shows progress, then turns the progress message into the result', async () => {
    bot.slack.reset();
    const started = Date.now();
    const sent = await bot.client.command('backup');
    expect(sent.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3_000);

    const progress = await bot.slack.waitFor('chat.postMessage');
    expect(progress.body.channel).toBe('C_OPS');
    expect(textOf(progress)).toContain('Backing up the database…');

    const result = await bot.slack.waitFor('chat.update', (c) => String(c.body.text ?? '').startsWith('Backup '), 20_000);
    expect(result.body.ts).toBeDefined();
    const [name] = (await readdir(dir)).filter((f) => f.endsWith('.sql.gz'));
    expect(name).toMatch(/^recipe-database-backup-\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.sql\.gz$/);
    expect(result.body.text).toMatch(new RegExp(`^Backup ${String(name).replaceAll('.', '\\.')} written: `));
    const seen = textOf(result);
    expect(seen).toContain('Backup written');
    expect(seen).toContain('recipe_manager.users 100');
    expect(seen).not.toContain('Backing up');
    expect(seen).toContain('Measured at');

    const metrics = await (await fetch(`${bot.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/recipedb_ops_backup_duration_seconds_count\{trigger="manual"\} 1/);
    // From the state database's record (and the file still there): the alert on a missing backup sees it, whichever replica wrote it.
    const last = Number(/^recipedb_ops_backup_last_success_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
    expect(Math.abs(last * 1000 - Date.now())).toBeLessThan(60_000);

    // A planted file named for the future changes nothing: the newest is still the one the bot took.
    const planted = 'recipe-database-backup-2099-01-01_00-00-00.sql.gz';
    await writeFile(path.join(dir, planted), gzipSync('-- PostgreSQL database dump complete\n'));
    try {
      const again = await (await fetch(`${bot.baseUrl}/metrics`)).text();
      expect(Number(/^recipedb_ops_backup_last_success_timestamp_seconds (\S+)$/m.exec(again)?.[1])).toBe(last);
    } finally {
      await rm(path.join(dir, planted));
    }
  });

  it('`backups` then lists it', async () => {
    bot.slack.reset();
    await bot.client.command('backups');
    const posted = await bot.slack.waitFor('chat.postMessage');
    expect(textOf(posted)).toMatch(/• `recipe-database-backup-[\d_-]+\.sql\.gz` · [\d.]+ (KiB|MiB) · just now · not verified/);
  });
});
