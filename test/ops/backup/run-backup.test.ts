import { gzipSync, gunzipSync } from 'node:zlib';
import { mkdir, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../../src/ops/backup/run-backup.js';
import { restoreBackup, RestoreError } from '../../../src/ops/backup/restore-backup.js';
import { checkBackupIntegrity } from '../../../src/ops/backup/integrity.js';
import { listBackups } from '../../../src/ops/backup/list-backups.js';
import { FingerprintHasher, type Fingerprint } from '../../../src/ops/backup/fingerprint.js';
import { readSidecar } from '../../../src/ops/backup/sidecar.js';
import { databaseUrl } from '../../../src/ops/postgres/databases.js';
import { createDemoTestDatabase } from '../../support/postgres.js';
import { holdTableLock, runbookBackup, sql, tableCounts, tempBackupDir, waitUntil, waitingPgDumpPid } from './backup-fixtures.js';

const VERIFY_TABLES = ['recipe_manager.recipes', 'recipe_manager.users', 'recipe_manager.ingredients'];

describe('runBackup and restoreBackup', () => {
  let url: string;
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;

  beforeAll(async () => {
    url = await createDemoTestDatabase();
    backups = await tempBackupDir();
  });
  afterAll(async () => {
    await backups.cleanup();
  });

  async function subdir(name: string): Promise<string> {
    const dir = path.join(backups.dir, name);
    await mkdir(dir);
    return dir;
  }

  it('round trip: a restore brings the data back as it was at backup time', async () => {
    const before = await tableCounts(url);
    const progress: number[] = [];
    const backup = await runBackup({
      databaseUrl: url,
      dir: backups.dir,
      verifyTables: VERIFY_TABLES,
      requestedBy: 'U_ALICE',
      onProgress: (bytes) => progress.push(bytes),
      progressIntervalMs: 5,
    });
    expect(backup.name).toMatch(/^recipe-database-backup-\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.sql\.gz$/);
    expect(backup.rowCounts).toEqual({
      'recipe_manager.recipes': before.recipes,
      'recipe_manager.users': before.users,
      'recipe_manager.ingredients': before.ingredients,
    });
    expect(backup.rowCountsTaken).toBe('same-snapshot');
    expect((await stat(backup.path)).size).toBe(backup.sizeBytes);
    expect(backup.dumpBytes).toBeGreaterThan(backup.sizeBytes);
    expect(await readdir(backups.dir)).toEqual([backup.name, `${backup.name}.json`]);

    // The file is the runbook's format: a gzip of a plain --clean --if-exists dump.
    const dump = gunzipSync(await readFile(backup.path)).toString('utf8');
    expect(dump).toContain('DROP TABLE IF EXISTS recipe_manager.recipes;');
    expect(dump).toContain('-- PostgreSQL database dump complete');

    const sidecar = await readSidecar(backup.path);
    expect(sidecar).toMatchObject({ name: backup.name, sha256: backup.sha256, verified: false, requestedBy: 'U_ALICE', rowCountsTaken: 'same-snapshot' });
    expect(sidecar?.rowCounts).toEqual(backup.rowCounts);

    // Change the data after the backup…
    await sql(url, `DELETE FROM recipe_manager.reviews`);
    await sql(url, `UPDATE recipe_manager.recipes SET title = 'changed after the backup' WHERE id = 1`);
    await sql(url, `INSERT INTO recipe_manager.users (username, email, display_name) VALUES ('late', 'late@example.com', 'Late Comer')`);
    expect(await tableCounts(url)).not.toEqual(before);

    const restored = await restoreBackup({ databaseUrl: url, file: backup.path, expected: backup.fingerprint });
    expect(restored.dumpBytes).toBe(backup.dumpBytes);
    expect(await tableCounts(url)).toEqual(before);
    const [recipe] = await sql<{ title: string }>(url, `SELECT title FROM recipe_manager.recipes WHERE id = 1`);
    expect(recipe?.title).not.toBe('changed after the backup');
    // Identity sequences come back too: a new row does not collide with restored ones.
    await sql(url, `INSERT INTO recipe_manager.users (username, email, display_name) VALUES ('after', 'after@example.com', 'After Restore')`);
  });

  it('counts rows in the snapshot pg_dump dumps, even while rows are being added', async () => {
    const dir = await subdir('busy');
    // A writer adding users throughout the backup: counts taken separately would disagree with the dump.
    const writer = new pg.Client({ connectionString: url });
    await writer.connect();
    let writing = true;
    const written = (async () => {
      for (let n = 0; writing; n++) {
        await writer.query(`INSERT INTO recipe_manager.users (username, email, display_name) VALUES ($1, $1 || '@example.com', 'Busy')`, [`busy${n}`]);
      }
    })();
    try {
      await waitUntil(async () => ((await tableCounts(url)).users ?? 0) > 0 ? true : undefined);
      const backup = await runBackup({ databaseUrl: url, dir, verifyTables: VERIFY_TABLES });
      const dump = gunzipSync(await readFile(backup.path)).toString('utf8');
      const copy = dump.split('COPY recipe_manager.users ')[1]?.split('\n\\.\n')[0] ?? '';
      expect(copy.split('\n').length - 1).toBe(backup.rowCounts['recipe_manager.users']);
    } finally {
      writing = false;
      await written;
      await writer.end();
      await sql(url, `DELETE FROM recipe_manager.users WHERE display_name = 'Busy'`);
    }
  });

  it('a backup of a database that does not exist fails in one sentence and leaves no file', async () => {
    const dir = await subdir('missing-db');
    const missing = databaseUrl(url, 'no_such_database');
    await expect(runBackup({ databaseUrl: missing, dir })).rejects.toThrow(/could not connect.*database "no_such_database" does not exist/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('pg_dump dying halfway leaves neither the final file nor the temporary one', async () => {
    const dir = await subdir('killed');
    const lock = await holdTableLock(url, 'recipe_manager.reviews');
    try {
      const running = runBackup({ databaseUrl: url, dir, verifyTables: VERIFY_TABLES });
      running.catch(() => undefined);
      const pid = await waitingPgDumpPid(url);
      // It is writing into a temporary file meanwhile, not under the final name.
      expect((await readdir(dir)).every((name) => name.startsWith('.') && name.endsWith('.partial'))).toBe(true);
      await sql(url, 'SELECT pg_terminate_backend($1)', [pid]);
      const error: Error = await running.then(() => new Error('the backup succeeded'), (e: Error) => e);
      expect(error.message).toMatch(/^pg_dump failed: .*terminating connection due to administrator command/);
      expect(error.message).not.toContain('\n');
    } finally {
      await lock.release();
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('a table lock held longer than the lock wait timeout fails the backup, naming the cause', async () => {
    const dir = await subdir('lock-timeout');
    const lock = await holdTableLock(url, 'recipe_manager.reviews');
    try {
      await expect(runBackup({ databaseUrl: url, dir, lockWaitTimeoutMs: 300 })).rejects.toThrow(
        'pg_dump failed: query failed: ERROR: canceling statement due to statement timeout (while locking recipe_manager.reviews, which another session holds locked)',
      );
    } finally {
      await lock.release();
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('a table the bot may not read is reported as a permission problem, not as a lock another session holds', async () => {
    const dir = await subdir('permission');
    const role = `no_reviews_${Date.now().toString(36)}`;
    await sql(url, `CREATE ROLE ${role} LOGIN PASSWORD 'not-a-secret-1'`);
    try {
      await sql(url, `GRANT USAGE ON SCHEMA recipe_manager TO ${role}`);
      await sql(url, `GRANT SELECT ON ALL TABLES IN SCHEMA recipe_manager TO ${role}`);
      await sql(url, `REVOKE SELECT ON recipe_manager.reviews FROM ${role}`);
      const limited = new URL(url);
      limited.username = role;
      limited.password = 'not-a-secret-1';
      const error: Error = await runBackup({ databaseUrl: limited.toString(), dir }).then(() => new Error('the backup succeeded'), (e: Error) => e);
      expect(error.message).toMatch(/^pg_dump failed: query failed: ERROR: permission denied for table reviews/);
      expect(error.message).not.toContain('another session');
      expect(error.message).not.toContain('not-a-secret-1');
    } finally {
      await sql(url, `DROP OWNED BY ${role}`);
      await sql(url, `DROP ROLE ${role}`);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('a cancelled backup stops pg_dump and leaves no file', async () => {
    const dir = await subdir('cancelled');
    const lock = await holdTableLock(url, 'recipe_manager.reviews');
    const controller = new AbortController();
    try {
      const running = runBackup({ databaseUrl: url, dir, signal: controller.signal });
      running.catch(() => undefined);
      await waitingPgDumpPid(url);
      controller.abort();
      await expect(running).rejects.toThrow('the backup was cancelled');
    } finally {
      await lock.release();
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('a truncated backup fails the integrity check, and a restore of it is stopped before psql runs any of it', async () => {
    const dir = await subdir('corrupt');
    const backup = await runBackup({ databaseUrl: url, dir });
    await truncate(backup.path, Math.floor(backup.sizeBytes / 2));
    await expect(checkBackupIntegrity(backup.path)).rejects.toThrow(`${backup.name} is corrupt: the gzip data is truncated`);

    await sql(url, `UPDATE recipe_manager.recipes SET title = 'kept' WHERE id = 2`);
    const counts = await tableCounts(url);
    const error: unknown = await restoreBackup({ databaseUrl: url, file: backup.path, expected: backup.fingerprint }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestoreError);
    expect((error as Error).message).toBe(`${backup.name} is not the file that was approved: its bytes differ from those recorded at byte 0; nothing of it was kept`);
    expect(await tableCounts(url)).toEqual(counts);
    expect((await sql<{ title: string }>(url, 'SELECT title FROM recipe_manager.recipes WHERE id = 2'))[0]?.title).toBe('kept');
  });

  it('a valid gzip of a dump that stops early (the runbook pipeline when pg_dump dies) is refused as incomplete', async () => {
    const dir = await subdir('incomplete');
    const backup = await runBackup({ databaseUrl: url, dir });
    const dump = gunzipSync(await readFile(backup.path));
    const cut = path.join(dir, 'recipe-database-backup-2020-01-01_00-00-00.sql.gz');
    await writeFile(cut, gzipSync(dump.subarray(0, Math.floor(dump.length * 0.6))));
    await expect(checkBackupIntegrity(cut)).rejects.toThrow(/is incomplete: .*pg_dump did not finish/);

    const counts = await tableCounts(url);
    await expect(restoreBackup({ databaseUrl: url, file: cut, expected: await fingerprintOf(cut) })).rejects.toThrow(/is incomplete/);
    expect(await tableCounts(url)).toEqual(counts);
  });

  it('a restore that fails halfway leaves the database as it was (one transaction)', async () => {
    const dir = await subdir('atomic');
    const backup = await runBackup({ databaseUrl: url, dir });
    // A table created after the backup: the dump's DROP SCHEMA recipe_manager (no CASCADE) fails,
    // after it has already dropped every table it knows.
    await sql(url, 'CREATE TABLE recipe_manager.created_later (id int)');
    await sql(url, `UPDATE recipe_manager.recipes SET title = 'current' WHERE id = 3`);
    const counts = await tableCounts(url);
    const error: unknown = await restoreBackup({ databaseUrl: url, file: backup.path, expected: backup.fingerprint }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestoreError);
    expect((error as RestoreError).inDump).toBe(true);
    expect((error as RestoreError).rolledBack).toBe(true);
    expect((error as Error).message).toMatch(/^psql failed: stopped at line \d+ of the dump: ERROR: cannot drop schema recipe_manager because other objects depend on it/);
    expect(await tableCounts(url)).toEqual(counts);
    expect((await sql<{ title: string }>(url, 'SELECT title FROM recipe_manager.recipes WHERE id = 3'))[0]?.title).toBe('current');
    await sql(url, 'DROP TABLE recipe_manager.created_later');
  });

  it('a file made the runbook way is listed as not written by the bot, and restorable once its bytes are approved', async () => {
    const dir = await subdir('runbook');
    const name = 'recipe-database-backup-2024-01-15_10-30-00.sql.gz';
    const before = await tableCounts(url);
    await runbookBackup(url, path.join(dir, name));

    const listed = await listBackups(dir, new Map());
    expect(listed.map((b) => [b.name, b.verification, b.trust])).toEqual([[name, 'never', 'outside']]);
    expect(listed[0]?.takenAt.toISOString()).toBe('2024-01-15T10:30:00.000Z');
    const { fingerprint } = await checkBackupIntegrity(path.join(dir, name));

    await sql(url, 'DELETE FROM recipe_manager.ingredients WHERE id % 2 = 0');
    await restoreBackup({ databaseUrl: url, file: path.join(dir, name), expected: fingerprint });
    expect(await tableCounts(url)).toEqual(before);
  });
});

/** The fingerprint of a file that does not pass the integrity check (as if it had been approved). */
async function fingerprintOf(file: string): Promise<Fingerprint> {
  const hasher = new FingerprintHasher();
  hasher.update(await readFile(file));
  return hasher.digest();
}
