/**
 * `backup`, `backups` and `backup verify` as an operator uses them, against a real database and a
 * temporary BACKUP_DIR, asserting on the answer a user reads and on the files left behind.
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { LIMITS } from '../../src/bot/blocks.js';
import { dispatchCommand, type Reply } from '../../src/bot/dispatch.js';
import type { Services } from '../../src/context.js';
import { acquireBackupLock } from '../../src/ops/backup/backup-lock.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { tryVerifyLock } from '../../src/ops/backup/verify-lock.js';
import { runbookBackup, sql, tempBackupDir, waitUntil } from '../ops/backup/backup-fixtures.js';

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

  const stateUrl = () => services.config.stateDatabaseUrl as string;
  const commandCount = async (outcome: string): Promise<number> => {
    const metric = (await services.metrics.registry.getSingleMetric('recipedb_ops_commands_total')?.get())?.values ?? [];
    return metric.find((v) => v.labels.command === 'backup' && v.labels.outcome === outcome)?.value ?? 0;
  };
  const scratchDatabasesOnServer = async (): Promise<string[]> =>
    (await sql<{ datname: string }>(services.databaseUrl, `SELECT datname FROM pg_database WHERE datname LIKE 'recipedb\\_verify\\_%' ORDER BY 1`)).map((r) => r.datname);

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
    expect(reply.message.text).toMatch(new RegExp(`^Backup ${name.replaceAll('.', '\\.')} written: [\\d.]+ kB in [\\d.]+m?s$`));
    expect(reply.seen).toContain('Backup written');
    expect(reply.seen).toMatch(/Size: [\d.]+ kB \(dump [\d.]+ kB, [\d.]+× smaller\)/);
    expect(reply.seen).toMatch(/Duration: [\d.]+m?s · [\d.]+ [kM]B\/s/);
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
    expect(lines[0]).toMatch(/^• `recipe-database-backup-\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.sql\.gz` · [\d.]+ kB · just now · not verified$/);
    expect(lines[1]).toMatch(
      new RegExp(`^• \`${runbookName.replaceAll('.', '\\.')}\` · [\\d.]+ \\w+ · \\d+d( \\d+h)? ago · ⚠️ not written by the bot — \`backup import ${runbookName.replaceAll('.', '\\.')}\` to use it$`),
    );
    expect(reply.seen).toContain(`In ${dir}`);
  });

  it('`backup verify` of a file the bot did not write is refused until it is imported', async () => {
    const runbookName = 'recipe-database-backup-2024-01-15_10-30-00.sql.gz';
    const reply = await run(`backup verify ${runbookName}`);
    expect(reply.outcome).toBe('refused');
    expect(reply.message.text).toBe(`Cannot verify: ${runbookName} was not written by the bot: \`backup import ${runbookName}\` to use it. Nothing was touched.`);
  });

  it('`backups` says nothing of sidecars whose backup is gone', async () => {
    const orphan = 'recipe-database-backup-2024-02-02_02-02-02.sql.gz.json';
    await writeFile(path.join(dir, orphan), '{}');
    const reply = await run('backups');
    expect(reply.seen).not.toContain('2024-02-02_02-02-02');
    await rm(path.join(dir, orphan));
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

  it.each(['nosuch', '../etc/passwd', '*.gz', '/etc/passwd', 'recipe-database-backup-*.sql.gz'])('`backup verify %s` is a refusal, not a failure', async (name) => {
    const refusedBefore = await commandCount('refused');
    const failedBefore = await commandCount('failed');
    const reply = await run(`backup verify ${name}`);
    expect(reply.outcome).toBe('refused');
    expect(reply.message.text).toMatch(/^Cannot verify: there is no backup named "[\w.?-]+" in .*: `backups` lists them, or say `latest`\. Nothing was touched\.$/);
    // Typos do not feed the failing-commands alert, nor leave a stack trace in the log.
    expect(await commandCount('refused')).toBe(refusedBefore + 1);
    expect(await commandCount('failed')).toBe(failedBefore);
    expect(services.logCapture.lines().some((l) => l.msg === 'command failed' && JSON.stringify(l).includes(name.replace(/[^\w]/g, '')))).toBe(false);
  });

  it('one verification at a time, across replicas: a second one is refused, saying so', async () => {
    const other = await openTestServices({ databaseUrl: services.databaseUrl, stateDatabaseUrl: stateUrl(), env: { BACKUP_DIR: dir } });
    try {
      // (Its start-up sweep takes the lock for a moment too.)
      const held = await waitUntil(async () => (await tryVerifyLock(other.state, { requestedBy: 'U_BOB' })) ?? undefined, 10_000, 'the verify lock');
      try {
        const reply = await run('backup verify latest');
        expect(reply.outcome).toBe('refused');
        expect(reply.message.text).toBe(
          'Another backup verification is running (started by U_BOB): one runs at a time, since each restores a whole backup on the database server. Try again when it is done.',
        );
      } finally {
        await held.release();
      }
    } finally {
      await other.close();
    }
  });

  it('a verification stops when the bot shuts down, and drops its scratch database', async () => {
    const stopping = await openTestServices({ databaseUrl: services.databaseUrl, stateDatabaseUrl: stateUrl(), env: { BACKUP_DIR: dir } });
    try {
      const verifying = stopping.lifecycle.track(run('backup verify latest', stopping));
      await stopping.lifecycle.drain({ graceMs: 0, cleanupMs: 20_000 });
      const reply = await verifying;
      expect(reply.outcome).toBe('failed');
      expect(reply.message.text).toMatch(/the bot was shutting down and stopped the verification|the restore was cancelled/);
      // Its scratch database is forgotten only once it was dropped.
      expect((await stopping.state.query('SELECT name FROM verify_databases')).rows).toEqual([]);
    } finally {
      await stopping.close();
    }
  });

  it('scratch databases an interrupted verification left are dropped when the bot starts', async () => {
    const leftover = 'recipedb_verify_0123456789ab';
    await sql(services.databaseUrl, `CREATE DATABASE ${leftover}`);
    await services.state.query('INSERT INTO verify_databases (name, created_by) VALUES ($1, $2)', [leftover, 'crashed:1:abc']);
    // Not one of ours (not noted in this bot's state database): left alone.
    const foreign = 'recipedb_verify_ffffffffffff';
    await sql(services.databaseUrl, `CREATE DATABASE ${foreign}`);
    const restarted = await openTestServices({ databaseUrl: services.databaseUrl, stateDatabaseUrl: stateUrl(), env: { BACKUP_DIR: dir } });
    try {
      await waitUntil(async () => ((await scratchDatabasesOnServer()).includes(leftover) ? undefined : true), 10_000, 'the leftover to be dropped');
      expect(await scratchDatabasesOnServer()).toContain(foreign);
      expect((await restarted.state.query('SELECT name FROM verify_databases')).rows).toEqual([]);
    } finally {
      await restarted.close();
      await sql(services.databaseUrl, `DROP DATABASE ${foreign}`);
    }
  });

  it('wrong arguments get the usage', async () => {
    for (const text of ['backup now', 'backup verify', 'backup verify a b', 'backup --force']) {
      const reply = await run(text);
      expect(reply.outcome).toBe('usage');
      expect(reply.seen).toContain('Usage: `/recipedb backup · backup verify <name|latest> · backup import <name>`');
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
