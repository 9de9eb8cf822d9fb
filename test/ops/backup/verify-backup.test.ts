import { mkdir, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBackupIntegrity } from '../../../src/ops/backup/integrity.js';
import { runBackup, type BackupResult } from '../../../src/ops/backup/run-backup.js';
import { readSidecar, writeSidecar } from '../../../src/ops/backup/sidecar.js';
import { SCRATCH_DATABASE_PREFIX, verifyBackup } from '../../../src/ops/backup/verify-backup.js';
import { createDemoTestDatabase } from '../../support/postgres.js';
import { runbookBackup, sql, tempBackupDir } from './backup-fixtures.js';

const VERIFY_TABLES = ['recipe_manager.recipes', 'recipe_manager.users', 'recipe_manager.ingredients'];

/** What the state database records for a backup the bot wrote. */
const expectedOf = (backup: BackupResult) => ({ fingerprint: backup.fingerprint, rowCounts: backup.rowCounts, rowCountsTaken: backup.rowCountsTaken });

describe('verifyBackup', () => {
  let url: string;
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;

  beforeAll(async () => {
    url = await createDemoTestDatabase();
    backups = await tempBackupDir();
  });
  afterAll(async () => {
    await backups.cleanup();
  });

  const databaseExists = async (name: string | undefined) =>
    (await sql(url, `SELECT 1 FROM pg_database WHERE datname = $1`, [name])).length === 1;

  it('restores into a scratch database, matches the counts, drops it, and marks the backup verified', async () => {
    const backup = await runBackup({ databaseUrl: url, dir: backups.dir, verifyTables: VERIFY_TABLES });
    const stages: string[] = [];
    const result = await verifyBackup({ databaseUrl: url, backup, expected: expectedOf(backup), verifyTables: VERIFY_TABLES, onProgress: (s) => stages.push(s) });

    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.checks).toEqual(
      VERIFY_TABLES.map((table) => ({ table, atBackup: backup.rowCounts[table], restored: backup.rowCounts[table], matches: true })),
    );
    expect(result.scratchDatabase).toMatch(new RegExp(`^${SCRATCH_DATABASE_PREFIX}[0-9a-f]{12}$`));
    expect(await databaseExists(result.scratchDatabase)).toBe(false);
    expect(stages.length).toBeGreaterThan(0);

    // The sidecar, for people reading it, says so too.
    const sidecar = await readSidecar(backup.path);
    expect(sidecar).toMatchObject({ verified: true, verification: { ok: true, problems: [] } });
    expect(sidecar?.verifiedAt).toBe(result.verifiedAt.toISOString());
  });

  it('reports counts that differ from those recorded at backup time', async () => {
    const dir = path.join(backups.dir, 'tampered');
    await mkdir(dir);
    const backup = await runBackup({ databaseUrl: url, dir, verifyTables: VERIFY_TABLES });
    const recipes = backup.rowCounts['recipe_manager.recipes'] ?? 0;
    const recorded = { ...expectedOf(backup), rowCounts: { ...backup.rowCounts, 'recipe_manager.recipes': recipes + 1 } };

    const result = await verifyBackup({ databaseUrl: url, backup, expected: recorded, verifyTables: VERIFY_TABLES });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([`recipe_manager.recipes: ${recipes} rows restored, ${recipes + 1} at backup time`]);
    expect((await readSidecar(backup.path))?.verified).toBe(false);
  });

  it('a sidecar cannot vouch for anything: counts come from what the caller recorded, not from the file next to it', async () => {
    const dir = path.join(backups.dir, 'lying-sidecar');
    await mkdir(dir);
    const backup = await runBackup({ databaseUrl: url, dir, verifyTables: VERIFY_TABLES });
    const sidecar = await readSidecar(backup.path);
    await writeSidecar(backup.path, { ...sidecar!, rowCounts: { 'recipe_manager.recipes': 1 } });
    const result = await verifyBackup({ databaseUrl: url, backup, expected: expectedOf(backup), verifyTables: VERIFY_TABLES });
    expect(result.ok).toBe(true);
  });

  it('a corrupt backup fails verification without creating a scratch database', async () => {
    const dir = path.join(backups.dir, 'corrupt');
    await mkdir(dir);
    const backup = await runBackup({ databaseUrl: url, dir });
    await truncate(backup.path, 100);
    const result = await verifyBackup({ databaseUrl: url, backup, expected: expectedOf(backup), verifyTables: VERIFY_TABLES });
    expect(result).toMatchObject({ ok: false, problems: [`${backup.name} is corrupt: the gzip data is truncated`], checks: [] });
    expect(result.scratchDatabase).toBeUndefined();
  });

  it('a dump that does not restore fails verification with psql\'s error, and the scratch database is dropped', async () => {
    const dir = path.join(backups.dir, 'bad-sql');
    await mkdir(dir);
    const name = 'recipe-database-backup-2025-06-01_02-00-00.sql.gz';
    await writeFile(path.join(dir, name), gzipSync('SELECT 1;\nSELECT 1/0;\n--\n-- PostgreSQL database dump complete\n--\n'));
    const file = path.join(dir, name);
    const { fingerprint } = await checkBackupIntegrity(file);
    const result = await verifyBackup({ databaseUrl: url, backup: { name, path: file }, expected: { fingerprint, rowCounts: null, rowCountsTaken: null }, verifyTables: VERIFY_TABLES });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual(['it does not restore: psql failed: stopped at line 2 of the dump: ERROR: division by zero']);
    expect(result.scratchDatabase).toBeDefined();
    expect(await databaseExists(result.scratchDatabase)).toBe(false);
  });

  it('a file made the runbook way verifies, without counts to compare', async () => {
    const dir = path.join(backups.dir, 'runbook');
    await mkdir(dir);
    const name = 'recipe-database-backup-2024-01-15_10-30-00.sql.gz';
    await runbookBackup(url, path.join(dir, name));
    const file = path.join(dir, name);
    const { fingerprint } = await checkBackupIntegrity(file);
    const result = await verifyBackup({ databaseUrl: url, backup: { name, path: file }, expected: { fingerprint, rowCounts: null, rowCountsTaken: null }, verifyTables: VERIFY_TABLES });
    expect(result.ok).toBe(true);
    expect(result.checks.every((c) => c.atBackup === undefined && typeof c.restored === 'number' && c.restored > 0)).toBe(true);
  });
});
