import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireBackupLock, BackupRunningError } from '../../../src/ops/backup/backup-lock.js';
import { backupFileName } from '../../../src/ops/backup/backup-name.js';
import { takeBackup } from '../../../src/ops/backup/take-backup.js';
import { fileSha256 } from '../../../src/ops/backup/integrity.js';
import { createPool } from '../../../src/ops/postgres/pool.js';
import { migrate, STATE_SCHEMA } from '../../../src/state/migrate.js';
import { backupRecordStore, findBackupRecord } from '../../../src/state/backup-records.js';
import { createDemoTestDatabase, createTestDatabase } from '../../support/postgres.js';
import { holdTableLock, tempBackupDir, waitingPgDumpPid } from './backup-fixtures.js';

describe('takeBackup: one at a time, then retention', () => {
  let url: string;
  let state: pg.Pool;
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;

  beforeAll(async () => {
    url = await createDemoTestDatabase();
    state = createPool({ url: await createTestDatabase('state'), connectMs: 3_000, statementMs: 10_000, searchPath: STATE_SCHEMA });
    await migrate(state);
    backups = await tempBackupDir();
  });
  afterAll(async () => {
    await state.end();
    await backups.cleanup();
  });

  const options = (dir: string, requestedBy: string) => ({
    state,
    records: backupRecordStore(state),
    databaseUrl: url,
    dir,
    retentionDays: 30,
    verifyTables: ['recipe_manager.recipes'],
    requestedBy,
    instance: 'test-replica',
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
    const other = new pg.Pool({ connectionString: state.options.connectionString, options: `-c search_path=${STATE_SCHEMA}` });
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

  it('records each backup in the state database, with the checksum of its bytes, before it gets its name', async () => {
    const dir = path.join(backups.dir, 'recorded');
    const { backup } = await takeBackup(options(dir, 'U_ALICE'));
    const record = await findBackupRecord(state, backup.name);
    const onDisk = await fileSha256(backup.path);
    expect(record).toMatchObject({ origin: 'bot', requestedBy: 'U_ALICE', recordedBy: 'test-replica', rowCountsTaken: 'same-snapshot' });
    expect(record?.fingerprint).toMatchObject({ sha256: onDisk.sha256, sizeBytes: onDisk.bytes, chunkBytes: 1 << 20 });
    expect(record?.fingerprint.chunkSha256).toHaveLength(32 * Math.ceil(onDisk.bytes / (1 << 20)));
    expect(record?.takenAt.toISOString()).toBe(backup.startedAt.toISOString());
  });

  it('a backup the state database cannot record is not kept: no file under the final name', async () => {
    const dir = path.join(backups.dir, 'unrecordable');
    await state.query('ALTER TABLE backup_files ADD CONSTRAINT refuse_all CHECK (false) NOT VALID');
    try {
      await expect(takeBackup(options(dir, 'U_ALICE'))).rejects.toThrow(/^the backup could not be recorded in the state database \(.*\), so it was not kept$/);
    } finally {
      await state.query('ALTER TABLE backup_files DROP CONSTRAINT refuse_all');
    }
    expect(await readdir(dir)).toEqual([]);
  });
});
