import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireBackupLock, BackupRunningError } from '../../../src/ops/backup/backup-lock.js';
import { backupFileName } from '../../../src/ops/backup/backup-name.js';
import { takeBackup } from '../../../src/ops/backup/take-backup.js';
import { createDemoTestDatabase, createTestDatabase } from '../../support/postgres.js';
import { holdTableLock, tempBackupDir, waitingPgDumpPid } from './backup-fixtures.js';

describe('takeBackup: one at a time, then retention', () => {
  let url: string;
  let state: pg.Pool;
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;

  beforeAll(async () => {
    url = await createDemoTestDatabase();
    state = new pg.Pool({ connectionString: await createTestDatabase('state') });
    backups = await tempBackupDir();
  });
  afterAll(async () => {
    await state.end();
    await backups.cleanup();
  });

  const options = (dir: string, requestedBy: string) => ({
    state,
    databaseUrl: url,
    dir,
    retentionDays: 30,
    verifyTables: ['recipe_manager.recipes'],
    requestedBy,
  });

  it('a second backup while one runs is refused, saying who started the first and when', async () => {
    const dir = path.join(backups.dir, 'concurrent');
    const lock = await holdTableLock(url, 'recipe_manager.reviews');
    let first: Promise<unknown> | undefined;
    try {
      first = takeBackup(options(dir, 'U_ALICE'));
      first.catch(() => undefined);
      await waitingPgDumpPid(url); // the first is inside pg_dump, holding the backup lock
      const second: unknown = await takeBackup(options(dir, 'U_BOB')).catch((e: unknown) => e);
      expect(second).toBeInstanceOf(BackupRunningError);
      expect((second as Error).message).toMatch(/^a backup is already running \(started by U_ALICE at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\)$/);
    } finally {
      await lock.release();
    }
    await expect(first).resolves.toMatchObject({ deleted: [] });
    // Once the first is done, the next one may run.
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // a new name needs a new second
    await expect(takeBackup(options(dir, 'U_BOB'))).resolves.toMatchObject({ deleted: [] });
    expect((await readdir(dir)).filter((n) => n.endsWith('.sql.gz'))).toHaveLength(2);
  });

  it('the lock is held across processes: a lock from another session refuses the backup', async () => {
    const other = new pg.Pool({ connectionString: state.options.connectionString });
    try {
      const held = await acquireBackupLock(other, { requestedBy: 'schedule', at: new Date('2026-01-15T02:00:00Z') });
      await expect(takeBackup(options(path.join(backups.dir, 'held'), 'U_BOB'))).rejects.toThrow(
        'a backup is already running (started by schedule at 2026-01-15 02:00:00 UTC)',
      );
      await held.release();
      await expect(takeBackup(options(path.join(backups.dir, 'held'), 'U_BOB'))).resolves.toBeDefined();
    } finally {
      await other.end();
    }
  });

  it('applies retention after a successful backup and removes leftovers of killed ones', async () => {
    const dir = path.join(backups.dir, 'retention');
    const taken = await takeBackup(options(dir, 'U_ALICE'));
    const old = backupFileName(new Date(Date.now() - 45 * 86_400_000));
    await writeFile(path.join(dir, old), 'an old backup');
    await writeFile(path.join(dir, '.recipe-database-backup-2026-01-01_00-00-00.sql.gz.partial'), 'left by a killed backup');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const next = await takeBackup(options(dir, 'U_ALICE'));
    expect(next.deleted).toEqual([old]);
    expect((await readdir(dir)).sort()).toEqual(
      [taken.backup.name, `${taken.backup.name}.json`, next.backup.name, `${next.backup.name}.json`].sort(),
    );
  });
});
