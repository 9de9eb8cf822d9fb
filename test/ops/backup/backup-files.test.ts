import { mkdir, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupFileName, backupTakenAt } from '../../../src/ops/backup/backup-name.js';
import { prepareBackupDir, removeStalePartials } from '../../../src/ops/backup/backup-dir.js';
import { parseToolVersionNum, versionProblem } from '../../../src/ops/backup/client-tools.js';
import type { BackupRecord } from '../../../src/ops/backup/backup-record.js';
import { listBackups, requireTrusted, resolveBackupName } from '../../../src/ops/backup/list-backups.js';
import { applyRetention } from '../../../src/ops/backup/retention.js';
import { libpqEnv } from '../../../src/ops/backup/libpq-env.js';
import { tempBackupDir } from './backup-fixtures.js';

const DAY = 86_400_000;
const NOW = new Date('2026-03-01T12:00:00Z');

const CONTENT = 'not really gzip';

/** What the state database would hold for a backup the bot wrote at `takenAt`. */
function botRecord(name: string, takenAt: Date, origin: BackupRecord['origin'] = 'bot'): BackupRecord {
  return {
    name,
    origin,
    fingerprint: { sha256: '0'.repeat(64), sizeBytes: CONTENT.length, chunkBytes: 1 << 20, chunkSha256: Buffer.alloc(32) },
    takenAt,
    recordedAt: takenAt,
    recordedBy: 'test',
    requestedBy: 'U_ALICE',
    approvedBy: null,
    rowCounts: null,
    rowCountsTaken: null,
    verification: null,
  };
}

/** Records for backups the bot wrote, each taken at the time its name says. */
function botRecords(...names: string[]): Map<string, BackupRecord> {
  return new Map(names.map((name) => [name, botRecord(name, backupTakenAt(name) as Date)]));
}

async function fakeBackup(dir: string, ageDays: number, options: { sidecar?: boolean; mtimeDays?: number } = {}): Promise<string> {
  const name = backupFileName(new Date(NOW.getTime() - ageDays * DAY));
  await writeFile(path.join(dir, name), CONTENT);
  if (options.sidecar) await writeFile(path.join(dir, `${name}.json`), '{}');
  if (options.mtimeDays !== undefined) {
    const at = new Date(NOW.getTime() - options.mtimeDays * DAY);
    await utimes(path.join(dir, name), at, at);
  }
  return name;
}

describe('backup names', () => {
  it('are the runbook pattern, in UTC, and read back exactly', () => {
    const name = backupFileName(new Date('2024-01-15T10:30:00.123Z'));
    expect(name).toBe('recipe-database-backup-2024-01-15_10-30-00.sql.gz');
    expect(backupTakenAt(name)?.toISOString()).toBe('2024-01-15T10:30:00.000Z');
    expect(backupTakenAt('recipe-database-backup-2024-02-30_10-30-00.sql.gz')).toBeUndefined();
    expect(backupTakenAt('recipe-database-backup-2024-01-15_10-30-00.sql')).toBeUndefined();
  });
});

describe('listBackups and resolveBackupName', () => {
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;
  let dir: string;
  const names: string[] = [];

  beforeAll(async () => {
    backups = await tempBackupDir();
    dir = backups.dir;
    names.push(await fakeBackup(dir, 3), await fakeBackup(dir, 1), await fakeBackup(dir, 2));
    // Things that are not backups, or must not be taken for one.
    await writeFile(path.join(dir, 'recipe-database-backup-latest.sql.gz'), 'x');
    await writeFile(path.join(dir, 'notes.txt'), 'x');
    await writeFile(path.join(dir, '.recipe-database-backup-2026-03-01_00-00-00.sql.gz.partial'), 'x');
    await mkdir(path.join(dir, 'recipe-database-backup-2026-01-01_00-00-00.sql.gz'));
    await symlink('/etc/passwd', path.join(dir, 'recipe-database-backup-2026-01-02_00-00-00.sql.gz'));
  });
  afterAll(async () => {
    await backups.cleanup();
  });

  const records = () => botRecords(...names);

  it('lists only regular files named like a backup, newest first', async () => {
    const listed = await listBackups(dir, records());
    expect(listed.map((b) => b.name)).toEqual([names[1], names[2], names[0]]);
    expect(listed[0]).toMatchObject({ sizeBytes: 15, verification: 'never', trust: 'bot' });
  });

  it('an empty list for a BACKUP_DIR that does not exist yet', async () => {
    expect(await listBackups(path.join(dir, 'not-yet'), new Map())).toEqual([]);
  });

  it('resolves `latest` and exact names only', async () => {
    expect((await resolveBackupName(dir, 'latest', records())).name).toBe(names[1]);
    expect((await resolveBackupName(dir, names[0] as string, records())).path).toBe(path.join(dir, names[0] as string));
    await expect(resolveBackupName(path.join(dir, 'not-yet'), 'latest', new Map())).rejects.toThrow('there is no backup written by the bot in');
  });

  it('trusts only recorded files of the recorded size; `latest` is never a file the bot did not write', async () => {
    const planted = 'recipe-database-backup-2099-01-01_00-00-00.sql.gz';
    await writeFile(path.join(dir, planted), CONTENT);
    try {
      const listed = await listBackups(dir, records());
      const plantedListing = listed.find((b) => b.name === planted);
      // Its name says 2099; its ctime (which nobody can set) says now.
      expect(plantedListing).toMatchObject({ trust: 'outside' });
      expect(plantedListing?.takenAt.getTime()).toBeLessThanOrEqual(Date.now());
      expect((await resolveBackupName(dir, 'latest', records())).name).toBe(names[1]);
      expect(() => requireTrusted(plantedListing!)).toThrow(`${planted} was not written by the bot: \`backup import ${planted}\` to use it`);
      // A recorded name whose file is not the recorded size is not trusted either.
      const changed = new Map([...records(), [planted, { ...botRecord(planted, new Date()), fingerprint: { ...botRecord(planted, new Date()).fingerprint, sizeBytes: 99 } }]]);
      const changedListing = (await listBackups(dir, changed)).find((b) => b.name === planted);
      expect(changedListing?.trust).toBe('changed');
      expect(() => requireTrusted(changedListing!)).toThrow(/is not the file the bot recorded under that name \(it is 15 bytes, not 99\)/);
    } finally {
      await rm(path.join(dir, planted));
    }
  });

  it.each([
    '../etc/passwd',
    '*.gz',
    'recipe-database-backup-*.sql.gz',
    '/etc/passwd',
    `./${'recipe-database-backup-2026-02-28_12-00-00.sql.gz'}`,
    'recipe-database-backup-2026-01-02_00-00-00.sql.gz', // the symlink
    'recipe-database-backup-2026-01-01_00-00-00.sql.gz', // the folder
    '.recipe-database-backup-2026-03-01_00-00-00.sql.gz.partial',
    'notes.txt',
  ])('refuses %s', async (name) => {
    await expect(resolveBackupName(dir, name, botRecords(name))).rejects.toThrow(/^there is no backup named "[\w.?-]*" in /);
  });
});

describe('applyRetention', () => {
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;
  beforeAll(async () => {
    backups = await tempBackupDir();
  });
  afterAll(async () => {
    await backups.cleanup();
  });

  it('deletes backups older than the retention and their sidecars, keeps the rest', async () => {
    const dir = path.join(backups.dir, 'mixed');
    await mkdir(dir);
    const old = await fakeBackup(dir, 40, { sidecar: true });
    const older = await fakeBackup(dir, 31);
    const recent = await fakeBackup(dir, 29, { sidecar: true });
    const newest = await fakeBackup(dir, 0, { sidecar: true });
    // A runbook file whose mtime is old but whose name is recent: the name decides.
    const touched = await fakeBackup(dir, 5, { mtimeDays: 90 });
    // Sidecars left behind by the runbook's `find -delete`: an old one and a recent one.
    const orphan = `${backupFileName(new Date(NOW.getTime() - 50 * DAY))}.json`;
    await writeFile(path.join(dir, orphan), '{}');
    const recentOrphan = `${backupFileName(new Date(NOW.getTime() - 2 * DAY))}.json`;
    await writeFile(path.join(dir, recentOrphan), '{}');
    const deletedByHand = backupFileName(new Date(NOW.getTime() - 3 * DAY));

    const result = await applyRetention({ dir, retentionDays: 30, now: NOW, records: botRecords(old, recent, newest, deletedByHand) });
    expect(result.deleted.sort()).toEqual([old, older].sort());
    expect(result.orphanSidecars.sort()).toEqual([orphan, recentOrphan].sort());
    // Records whose file is gone, for the caller to forget.
    expect(result.gone.sort()).toEqual([old, deletedByHand].sort());
    expect((await readdir(dir)).sort()).toEqual([recent, `${recent}.json`, newest, `${newest}.json`, touched].sort());
  });

  it('never deletes the newest backup, however old', async () => {
    const dir = path.join(backups.dir, 'all-old');
    await mkdir(dir);
    const oldest = await fakeBackup(dir, 90);
    const newestButOld = await fakeBackup(dir, 60);
    expect((await applyRetention({ dir, retentionDays: 30, now: NOW, records: botRecords(oldest, newestButOld) })).deleted).toEqual([oldest]);
    expect(await readdir(dir)).toEqual([newestButOld]);
  });

  it('a planted file named for 2099 is never the newest: the bot\'s newest is kept, and the planted one ages from its ctime', async () => {
    const dir = path.join(backups.dir, 'planted');
    await mkdir(dir);
    const now = new Date();
    const ours = backupFileName(new Date(now.getTime() - 40 * DAY));
    await writeFile(path.join(dir, ours), CONTENT);
    const planted = 'recipe-database-backup-2099-12-31_23-59-59.sql.gz';
    await writeFile(path.join(dir, planted), CONTENT);
    const records = botRecords(ours);
    // Today: the planted file is new by its ctime; our 40-day-old backup is the newest the bot wrote, so it stays.
    expect((await applyRetention({ dir, retentionDays: 30, now, records })).deleted).toEqual([]);
    // 31 days on, the planted file is past retention like any other; ours is still the bot's newest.
    expect((await applyRetention({ dir, retentionDays: 30, now: new Date(now.getTime() + 31 * DAY), records })).deleted).toEqual([planted]);
    expect(await readdir(dir)).toEqual([ours]);
  });

  it('never deletes a backup in use', async () => {
    const dir = path.join(backups.dir, 'in-use');
    await mkdir(dir);
    const beingRestored = await fakeBackup(dir, 45);
    const other = await fakeBackup(dir, 44);
    await fakeBackup(dir, 0);
    const newest = backupFileName(NOW);
    expect((await applyRetention({ dir, retentionDays: 30, now: NOW, inUse: new Set([beingRestored]), records: botRecords(newest) })).deleted).toEqual([other]);
    expect(await readdir(dir)).toContain(beingRestored);
  });
});

describe('BACKUP_DIR', () => {
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;
  beforeAll(async () => {
    backups = await tempBackupDir();
  });
  afterAll(async () => {
    await backups.cleanup();
  });

  it('is created when missing', async () => {
    const dir = path.join(backups.dir, 'a', 'b');
    await prepareBackupDir(dir);
    expect(await readdir(dir)).toEqual([]);
  });

  it('that is a file, or under one, is refused in one sentence', async () => {
    const file = path.join(backups.dir, 'a-file');
    await writeFile(file, 'x');
    await expect(prepareBackupDir(file)).rejects.toThrow(`BACKUP_DIR ${file} is not a folder`);
    await expect(prepareBackupDir(path.join(file, 'below'))).rejects.toThrow(`BACKUP_DIR ${path.join(file, 'below')} is not a folder`);
  });

  it('temporary files of killed backups are removed; a sidecar being rewritten right now is not', async () => {
    const dir = path.join(backups.dir, 'partials');
    await mkdir(dir);
    await writeFile(path.join(dir, '.recipe-database-backup-2026-01-01_00-00-00.sql.gz.partial'), 'x');
    await writeFile(path.join(dir, '.recipe-database-backup-2026-01-01_00-00-00.sql.gz.json.ab12.partial'), 'x');
    expect(await removeStalePartials(dir, new Date())).toEqual(['.recipe-database-backup-2026-01-01_00-00-00.sql.gz.partial']);
    expect(await removeStalePartials(dir, new Date(Date.now() + 2 * 3_600_000))).toEqual([
      '.recipe-database-backup-2026-01-01_00-00-00.sql.gz.json.ab12.partial',
    ]);
  });
});

describe('client tools', () => {
  it('reads versions old and new', () => {
    expect(parseToolVersionNum('pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)')).toBe(150018);
    expect(parseToolVersionNum('psql (PostgreSQL) 9.6.24')).toBe(90624);
    expect(parseToolVersionNum('pg_dump (PostgreSQL) 17devel')).toBe(170000);
  });

  it('refuses a client older than the server in one sentence', () => {
    expect(versionProblem('pg_dump', 'pg_dump (PostgreSQL) 15.18', 160002)).toBe(
      'pg_dump 15 cannot back up a PostgreSQL 16 server: install the PostgreSQL 16 client tools',
    );
    expect(versionProblem('psql', 'psql (PostgreSQL) 9.6.24', 100005)).toBe(
      'psql 9.6 cannot restore into a PostgreSQL 10 server: install the PostgreSQL 10 client tools',
    );
    expect(versionProblem('pg_dump', 'pg_dump (PostgreSQL) 16.4', 150018)).toBeUndefined();
    expect(versionProblem('pg_dump', 'pg_dump (PostgreSQL) 15.1', 150018)).toBeUndefined();
  });
});

describe('libpqEnv', () => {
  it('passes the connection in the environment, password included, and nothing from the bot environment', () => {
    process.env.PGSERVICE = 'somewhere-else';
    process.env.STATE_DATABASE_URL = 'postgres://bot:state-secret@state/db';
    process.env.SLACK_BOT_TOKEN = 'xoxb-not-for-pg-dump';
    try {
      const env = libpqEnv('postgres://bot:p%40ss%3Aword@db.example:6543/recipe_database?sslmode=verify-full', 'recipedb-ops pg_dump');
      expect(env).toMatchObject({
        PGHOST: 'db.example',
        PGPORT: '6543',
        PGUSER: 'bot',
        PGPASSWORD: 'p@ss:word',
        PGDATABASE: 'recipe_database',
        PGSSLMODE: 'verify-full',
        PGAPPNAME: 'recipedb-ops pg_dump',
      });
      expect(env.PGSERVICE).toBeUndefined();
      // Only where programs are, a home, the locale and libpq's own variables.
      expect(Object.keys(env).filter((name) => !/^PG[A-Z_]+$/.test(name)).sort()).toEqual(['HOME', 'LANG', 'LC_ALL', 'PATH'].filter((n) => n !== 'HOME' || process.env.HOME !== undefined));
      expect(JSON.stringify(env)).not.toMatch(/state-secret|xoxb-/);
    } finally {
      delete process.env.PGSERVICE;
      delete process.env.STATE_DATABASE_URL;
      delete process.env.SLACK_BOT_TOKEN;
    }
  });

  it('refuses an option it cannot pass on', () => {
    expect(() => libpqEnv('postgres://bot@db/x?frobnicate=1', 'x')).toThrow('The database URL option "frobnicate" is not understood by pg_dump and psql');
  });
});
