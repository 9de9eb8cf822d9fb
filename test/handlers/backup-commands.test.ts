/**
 * `backup`, `backups` and `backup verify` as an operator uses them, against a real database and a
 * temporary BACKUP_DIR, asserting on the answer a user reads and on the files left behind.
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { LIMITS } from '../../src/bot/blocks.js';
import { dispatchCommand, type Reply } from '../../src/bot/dispatch.js';
import type { Services } from '../../src/context.js';
import { acquireBackupLock } from '../../src/ops/backup/backup-lock.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { runbookBackup, tempBackupDir } from '../ops/backup/backup-fixtures.js';

const actor = { userId: 'U_ALICE', channelId: 'C_OPS' };

describe('backup commands', () => {
  let services: TestServices;
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;
  let dir: string;

  beforeAll(async () => {
    backups = await tempBackupDir();
    dir = path.join(backups.dir, 'recipe-database'); // created by the first backup
    services = await openTestServices({ env: { BACKUP_DIR: dir } });
  });
  afterAll(async () => {
    await services.close();
    await backups.cleanup();
  });

  async function run(text: string, on: Services = services): Promise<Reply & { seen: string; progress: string[] }> {
    const progress: string[] = [];
    const reply = await dispatchCommand(text, actor, on, { progress: async (t) => void progress.push(t) });
    expect(reply.message.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
    expect(JSON.stringify(reply.message.blocks).length).toBeLessThanOrEqual(LIMITS.messageChars);
    return { ...reply, seen: renderBlocks(reply.message, { width: 400 }).text, progress };
  }

  it('`backups` before the first backup says there are none, even without the folder', async () => {
    const reply = await run('backups');
    expect(reply.outcome).toBe('ok');
    expect(reply.seen).toContain(`No backups in ${dir} yet. \`/recipedb backup\` takes one.`);
  });

  it('`backup` writes a backup into a BACKUP_DIR it creates, and says what it wrote', async () => {
    const reply = await run('backup');
    expect(reply.outcome).toBe('ok');
    const files = await readdir(dir);
    const name = files.find((f) => f.endsWith('.sql.gz')) as string;
    expect(files.sort()).toEqual([name, `${name}.json`]);
    expect(reply.message.text).toMatch(new RegExp(`^Backup ${name.replaceAll('.', '\\.')} written: [\\d.]+ KiB in [\\d.]+m?s$`));
    expect(reply.seen).toContain('Backup written');
    expect(reply.seen).toMatch(/Size: [\d.]+ KiB \(dump [\d.]+ KiB, [\d.]+× smaller\)/);
    expect(reply.seen).toMatch(/Duration: [\d.]+m?s · [\d.]+ [KM]iB\/s/);
    expect(reply.seen).toContain('Rows at backup time: recipe_manager.recipes 300 · recipe_manager.users 100 · recipe_manager.ingredients ');
    expect(reply.seen).toContain('Retention (30 days): no backup old enough to delete');
    expect(reply.seen).toContain(`not verified yet: \`/recipedb backup verify ${name}\``);
    expect(reply.seen).toContain('Measured at');
    expect(reply.progress[0]).toBe('Backing up the database…');

    const metrics = await services.metrics.registry.metrics();
    expect(metrics).toMatch(/recipedb_ops_backup_size_bytes_count\{trigger="manual"\} 1/);
    expect(metrics).toMatch(/recipedb_ops_backup_duration_seconds_count\{trigger="manual"\} 1/);
    const { rows } = await services.state.query(`SELECT summary FROM audit_log WHERE action = 'backup.completed'`);
    expect(rows[0]?.summary).toContain(name);
  });

  it('`backups` lists ours and the runbook\'s, newest first, with size, age and verification', async () => {
    const runbookName = 'recipe-database-backup-2024-01-15_10-30-00.sql.gz';
    await runbookBackup(services.config.databaseUrl as string, path.join(dir, runbookName));
    const reply = await run('backups');
    const lines = reply.seen.split('\n').filter((l) => l.startsWith('• '));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^• `recipe-database-backup-\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.sql\.gz` · [\d.]+ KiB · just now · not verified$/);
    expect(lines[1]).toMatch(new RegExp(`^• \`${runbookName.replaceAll('.', '\\.')}\` · [\\d.]+ KiB · \\d+d( \\d+h)? ago · not verified$`));
    expect(reply.seen).toContain(`In ${dir}`);
  });

  it('`backup verify latest` restores the newest into a scratch database and marks it verified', async () => {
    const reply = await run('backup verify latest');
    expect(reply.outcome).toBe('ok');
    expect(reply.seen).toContain('Backup verified');
    expect(reply.seen).toContain('restores, and its row counts match those at backup time.');
    expect(reply.seen).toContain('recipe_manager.recipes: ✅ 300 rows (300 at backup time)');
    expect(reply.seen).toMatch(/scratch database recipedb_verify_[0-9a-f]{12} dropped/);
    expect(reply.progress.some((p) => p.startsWith('Restoring'))).toBe(true);
    const listed = await run('backups');
    expect(listed.seen.split('\n').find((l) => l.startsWith('• '))).toMatch(/verified$/);
    expect(listed.seen.split('\n').find((l) => l.startsWith('• '))).not.toMatch(/not verified$/);
  });

  it.each(['../etc/passwd', '*.gz', '/etc/passwd', 'recipe-database-backup-*.sql.gz'])('`backup verify %s` is refused', async (name) => {
    const reply = await run(`backup verify ${name}`);
    expect(reply.outcome).toBe('failed');
    expect(reply.message.text).toMatch(/^`backup` failed: there is no backup named "[\w.?-]+" in /);
  });

  it('wrong arguments get the usage', async () => {
    for (const text of ['backup now', 'backup verify', 'backup verify a b', 'backup --force']) {
      const reply = await run(text);
      expect(reply.outcome).toBe('usage');
      expect(reply.seen).toContain('Usage: `/recipedb backup · backup verify <name|latest>`');
    }
  });

  it('a second backup while one runs is refused, naming who runs it', async () => {
    const held = await acquireBackupLock(services.state, { requestedBy: 'U_BOB', at: new Date('2026-01-15T10:30:00Z') });
    try {
      const reply = await run('backup');
      expect(reply.outcome).toBe('failed');
      expect(reply.message.text).toBe('`backup` failed: a backup is already running (started by U_BOB at 2026-01-15 10:30:00 UTC)');
    } finally {
      await held.release();
    }
  });

  it('a BACKUP_DIR that cannot hold backups is refused in one sentence', async () => {
    const file = path.join(backups.dir, 'a-file');
    await writeFile(file, 'not a folder');
    const misconfigured: Services = { ...services, config: { ...services.config, backup: { ...services.config.backup, dir: file } } };
    const reply = await run('backup', misconfigured);
    expect(reply.outcome).toBe('failed');
    expect(reply.message.text).toBe(`\`backup\` failed: BACKUP_DIR ${file} is not a folder`);
  });
});
