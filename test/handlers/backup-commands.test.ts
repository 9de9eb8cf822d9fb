/**
 * `backup`, `backups` and `backup verify` as an operator uses them, against a real database and a
 * temporary BACKUP_DIR, asserting on the handlers' typed results and on the files left behind
 * (how they look: test/bot/views/backup-views.test.ts).
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/context.js';
import { backupHandler, type BackupTaken, type BackupVerified } from '../../src/handlers/backup.js';
import { backupsHandler } from '../../src/handlers/backups.js';
import { acquireBackupLock } from '../../src/ops/backup/backup-lock.js';
import { handlerContext, openTestServices, type TestServices } from '../support/services.js';
import { argsProblem, runHandler } from '../support/handlers.js';
import { tryVerifyLock } from '../../src/ops/backup/verify-lock.js';
import { Refusal } from '../../src/handlers/refusal.js';
import { findCommand } from '../../src/bot/commands.js';
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

  const ctx = (on: Services = services) => handlerContext({ ...services, ...on, close: services.close }, actor);
  const stateUrl = () => services.config.stateDatabaseUrl as string;
  const scratchDatabasesOnServer = async (): Promise<string[]> =>
    (await sql<{ datname: string }>(services.databaseUrl, `SELECT datname FROM pg_database WHERE datname LIKE 'recipedb\\_verify\\_%' ORDER BY 1`)).map((r) => r.datname);
  /** What the handler refused with: a Refusal is answered and counted as refused, never as a failure. */
  const refusal = async (work: Promise<unknown>): Promise<string> => {
    const error = await work.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(Refusal);
    return (error as Refusal).message;
  };

  async function backUp(on: Services = services): Promise<BackupTaken & { progress: string[] }> {
    const context = ctx(on);
    const result = await runHandler(backupHandler, context);
    if (result.kind !== 'backup') throw new Error('expected a backup');
    return { ...result, progress: context.progressLog };
  }

  async function verify(name: string, on: Services = services): Promise<BackupVerified & { progress: string[] }> {
    const context = ctx(on);
    const result = await runHandler(backupHandler, context, { positional: ['verify', name] });
    if (result.kind !== 'verify') throw new Error('expected a verification');
    return { ...result, progress: context.progressLog };
  }

  it('`backups` before the first backup lists none, even without the folder', async () => {
    const result = await runHandler(backupsHandler, ctx());
    expect(result).toMatchObject({ dir, backups: [], retentionDays: 30 });
  });

  it('`backup` writes a backup into a BACKUP_DIR it creates, and says what it wrote', async () => {
    const result = await backUp();
    const files = await readdir(dir);
    expect(files.sort()).toEqual([result.name, `${result.name}.json`]);
    expect(result.name).toMatch(/^recipe-database-backup-\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.sql\.gz$/);
    expect(result).toMatchObject({ dir, retentionDays: 30, deleted: [], warnings: [], rowCountsTaken: 'same-snapshot' });
    expect(result.sizeBytes).toBeGreaterThan(0);
    expect(result.dumpBytes).toBeGreaterThan(result.sizeBytes);
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.rowCounts).toMatchObject({ 'recipe_manager.recipes': 300, 'recipe_manager.users': 100 });
    expect(result.rowCounts['recipe_manager.ingredients']).toBeGreaterThan(0);
    expect(result.progress[0]).toBe('Backing up the database…');

    const metrics = await services.metrics.registry.metrics();
    expect(metrics).toMatch(/recipedb_ops_backup_size_bytes_count\{trigger="manual"\} 1/);
    expect(metrics).toMatch(/recipedb_ops_backup_duration_seconds_count\{trigger="manual"\} 1/);
    const { rows } = await services.state.query(`SELECT summary FROM audit_log WHERE action = 'backup.completed'`);
    expect(rows[0]?.summary).toContain(result.name);
  });

  it("`backups` lists ours and the runbook's, newest first, with size, age and verification", async () => {
    const runbookName = 'recipe-database-backup-2024-01-15_10-30-00.sql.gz';
    await runbookBackup(services.config.databaseUrl as string, path.join(dir, runbookName));
    const result = await runHandler(backupsHandler, ctx());
    expect(result.backups).toHaveLength(2);
    const [ours, runbook] = result.backups;
    expect(ours).toMatchObject({ name: expect.stringMatching(/^recipe-database-backup-\d{4}-/), trust: 'bot', verification: 'never', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(Date.now() - (ours?.takenAt.getTime() ?? 0)).toBeLessThan(60 * 60_000);
    // A file the bot did not write is listed, as one to import before use.
    expect(runbook).toMatchObject({ name: runbookName, trust: 'outside', verification: 'never', takenAt: new Date('2024-01-15T10:30:00Z') });
    expect(runbook?.sizeBytes).toBeGreaterThan(0);
  });

  it('`backup verify` of a file the bot did not write is refused until it is imported', async () => {
    const runbookName = 'recipe-database-backup-2024-01-15_10-30-00.sql.gz';
    expect(await refusal(verify(runbookName))).toBe(`Cannot verify: ${runbookName} was not written by the bot: \`backup import ${runbookName}\` to use it. Nothing was touched.`);
  });

  it('`backups` says nothing of sidecars whose backup is gone', async () => {
    const orphan = 'recipe-database-backup-2024-02-02_02-02-02.sql.gz.json';
    await writeFile(path.join(dir, orphan), '{}');
    const result = await runHandler(backupsHandler, ctx());
    expect(result.backups.map((b) => b.name).some((n) => n.includes('2024-02-02_02-02-02'))).toBe(false);
    await rm(path.join(dir, orphan));
  });

  it('`backup verify latest` restores the newest into a scratch database and marks it verified', async () => {
    const { verification, progress } = await verify('latest');
    expect(verification).toMatchObject({ ok: true, problems: [], scratchDatabase: expect.stringMatching(/^recipedb_verify_[0-9a-f]{12}$/) });
    expect(verification.checks).toContainEqual({ table: 'recipe_manager.recipes', atBackup: 300, restored: 300, matches: true });
    expect(progress.some((p) => p.startsWith('Restoring'))).toBe(true);
    const listed = await runHandler(backupsHandler, ctx());
    expect(listed.backups[0]).toMatchObject({ name: verification.name, verification: 'verified' });
  });

  it.each(['nosuch', '../etc/passwd', '*.gz', '/etc/passwd', 'recipe-database-backup-*.sql.gz'])('`backup verify %s` is a refusal, not a failure', async (name) => {
    // A Refusal: typos do not feed the failing-commands alert, nor leave a stack trace in the log.
    expect(await refusal(verify(name))).toMatch(/^Cannot verify: there is no backup named "[\w.?-]+" in .*: `backups` lists them, or say `latest`\. Nothing was touched\.$/);
  });

  it('one verification at a time, across replicas: a second one is refused, saying so', async () => {
    const other = await openTestServices({ databaseUrl: services.databaseUrl, stateDatabaseUrl: stateUrl(), env: { BACKUP_DIR: dir } });
    try {
      // (Its start-up sweep takes the lock for a moment too.)
      const held = await waitUntil(async () => (await tryVerifyLock(other.state, { requestedBy: 'U_BOB' })) ?? undefined, 10_000, 'the verify lock');
      try {
        expect(await refusal(verify('latest'))).toBe(
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
      // Its start-up sweep takes the verify lock for a moment: wait until it is free again.
      const swept = await waitUntil(async () => (await tryVerifyLock(stopping.state, { requestedBy: 'U_TEST' })) ?? undefined, 10_000, 'the verify lock');
      await swept.release();
      const verifying = stopping.lifecycle.track(verify('latest', stopping).then(() => undefined, (e: unknown) => e));
      await stopping.lifecycle.drain({ graceMs: 0, cleanupMs: 20_000 });
      const error = await verifying;
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(Refusal);
      expect((error as Error).message).toMatch(/the bot was shutting down and stopped the verification|the restore was cancelled/);
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

  it.each([
    [['now'], {}, 'takes no arguments to back up now, or `verify <name|latest>`, or `import <name>`'],
    [['verify'], {}, 'verify takes one backup name (as `backups` lists it) or `latest`'],
    [['verify', 'a', 'b'], {}, 'verify takes one backup name (as `backups` lists it) or `latest`'],
    [[], { force: true }, 'takes no options'],
  ] as const)('refuses %j %j', (positional, flags, problem) => {
    expect(argsProblem(backupHandler, { positional: [...positional], flags })).toBe(problem);
    // The usage shown with it names every form, import included.
    expect(findCommand('backup')?.info.usage).toBe('backup · backup verify <name|latest> · backup import <name>');
  });

  it('a second backup while one runs is refused, naming who runs it', async () => {
    const held = await acquireBackupLock(services.state, { requestedBy: 'U_BOB', at: new Date('2026-01-15T10:30:00Z') });
    try {
      await expect(backUp()).rejects.toThrow('a backup is already running (started by U_BOB at 2026-01-15 10:30:00 UTC)');
    } finally {
      await held.release();
    }
  });

  it('a BACKUP_DIR that cannot hold backups is refused in one sentence', async () => {
    const file = path.join(backups.dir, 'a-file');
    await writeFile(file, 'not a folder');
    const misconfigured: Services = { ...services, config: { ...services.config, backup: { ...services.config.backup, dir: file } } };
    await expect(backUp(misconfigured)).rejects.toThrow(`BACKUP_DIR ${file} is not a folder`);
  });
});
