/**
 * A backup file is a psql script, so the restore never lets psql run a meta-command from it:
 * planted files with `\!`, `\connect`, `\copy … program`, `\o |cmd` and a `\unrestrict` of their
 * own, restored by the real psql into a real PostgreSQL, run nothing (no marker file appears, no
 * row is written elsewhere) and change nothing. And the stream psql reads is the dump, its own
 * `\restrict` lines aside, between the bot's BEGIN and COMMIT.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restrictedModeProblem } from '../../../src/ops/backup/client-tools.js';
import { checkBackupIntegrity } from '../../../src/ops/backup/integrity.js';
import { restoreBackup, RestoreError } from '../../../src/ops/backup/restore-backup.js';
import { leaveOutRestrictLines, restrictedScript } from '../../../src/ops/backup/restricted-script.js';
import { runBackup } from '../../../src/ops/backup/run-backup.js';
import { createDemoTestDatabase, createTestDatabase } from '../../support/postgres.js';
import { hostileFiles, plantedDump, sql, tableCounts, tempBackupDir } from './backup-fixtures.js';

async function run(stream: Transform, input: string | Buffer[]): Promise<string> {
  const chunks: Buffer[] = [];
  const source = typeof input === 'string' ? Readable.from([Buffer.from(input)]) : Readable.from(input);
  await pipeline(source, stream, new Writable({ write: (c: Buffer, _e, done) => void (chunks.push(c), done()) }));
  return Buffer.concat(chunks).toString('utf8');
}
type Transform = ReturnType<typeof leaveOutRestrictLines>;

describe('the stream psql reads', () => {
  const dump = ['--', '-- PostgreSQL database dump', '--', '', '\\restrict AbC123', '', 'SET x = 1;', 'COPY t (a) FROM stdin;', '\\restrict not-a-command-but-a-row', '\\.', '', '-- PostgreSQL database dump complete', '', '\\unrestrict AbC123', ''].join('\n');

  it("leaves out the dump's own \\restrict and its last \\unrestrict, as empty lines, and nothing else", async () => {
    const out = await run(leaveOutRestrictLines(), dump);
    expect(out.split('\n')).toEqual(dump.split('\n').map((line) => (line === '\\restrict AbC123' || line === '\\unrestrict AbC123' ? '' : line)));
  });

  it('does the same fed one byte at a time, and passes long lines through unchanged', async () => {
    const bytes = [...Buffer.from(dump)].map((b) => Buffer.from([b]));
    expect(await run(leaveOutRestrictLines(), bytes)).toBe(await run(leaveOutRestrictLines(), dump));
    const long = `SELECT '${'x'.repeat(20_000)}';\n\\unrestrict k\n`;
    expect(await run(leaveOutRestrictLines(), long)).toBe(`SELECT '${'x'.repeat(20_000)}';\n\n`);
  });

  it('is framed by the bot: its pid, BEGIN, a restrict key of its own, then the dump, then the check and COMMIT', async () => {
    const script = restrictedScript();
    const out = await run(script.framing(), 'SELECT 1;\n');
    const lines = out.split('\n');
    expect(lines.slice(0, 2)).toEqual(['SELECT pg_backend_pid();', 'BEGIN;']);
    expect(lines[3]).toMatch(/^\\restrict [0-9a-f]{48}$/);
    expect(lines[4]).toBe('SELECT 1;');
    expect(lines.filter((l) => l === 'COMMIT;')).toHaveLength(1);
    expect(script.headerLines).toBe(4);
    expect(script.commitSent()).toBe(true);
    // Two scripts never share a key.
    expect((await run(restrictedScript().framing(), '')).split('\n')[3]).not.toBe(lines[3]);
  });
});

describe('psql restricted mode', () => {
  it('a psql without \\restrict is refused, saying which version is needed', () => {
    expect(restrictedModeProblem('psql (PostgreSQL) 15.13 (Debian 15.13-0+deb12u1)')).toBe(
      'psql 15.13 cannot refuse the psql meta-commands (\\!, \\connect…) a backup file may hold, so the bot will not restore with it: install psql 15.14 or newer (the release with \\restrict)',
    );
    expect(restrictedModeProblem('psql (PostgreSQL) 12.22')).toMatch(/install psql 13\.22 or newer/);
    expect(restrictedModeProblem('psql (PostgreSQL) 16.9')).toMatch(/install psql 16\.10 or newer/);
    expect(restrictedModeProblem('psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)')).toBeUndefined();
    expect(restrictedModeProblem('psql (PostgreSQL) 17.6')).toBeUndefined();
    expect(restrictedModeProblem('psql (PostgreSQL) 18.1')).toBeUndefined();
  });
});

describe('restoring a planted file', () => {
  let url: string;
  let otherUrl: string;
  let backups: Awaited<ReturnType<typeof tempBackupDir>>;

  beforeAll(async () => {
    url = await createDemoTestDatabase();
    otherUrl = await createTestDatabase('other');
    await sql(otherUrl, 'CREATE TABLE planted_target (id int)');
    backups = await tempBackupDir();
  });
  afterAll(async () => {
    await backups.cleanup();
  });

  it('runs none of its meta-commands and changes nothing, whichever it holds', async () => {
    const markers = path.join(backups.dir, 'markers');
    await mkdir(markers);
    const before = await tableCounts(url);
    for (const planted of hostileFiles(markers, new URL(otherUrl).pathname.slice(1))) {
      const file = path.join(backups.dir, planted.name);
      await writeFile(file, plantedDump(planted.lines));
      // Even approved exactly as it is (its fingerprint is what the restore checks against).
      const { fingerprint } = await checkBackupIntegrity(file);
      const error: unknown = await restoreBackup({ databaseUrl: url, file, expected: fingerprint }).catch((e: unknown) => e);
      expect(error, planted.lines[0]).toBeInstanceOf(RestoreError);
      expect((error as RestoreError).message).toMatch(
        /^psql failed: stopped at line 7 of the dump: (it holds a psql meta-command \(a \\ command\), which the bot never runs from a backup file|\\unrestrict: wrong key)$/,
      );
      expect((error as RestoreError).rolledBack).toBe(true);
      if (planted.marker) expect(existsSync(planted.marker), planted.marker).toBe(false);
    }
    expect(await sql(otherUrl, 'SELECT * FROM planted_target')).toEqual([]);
    // What the file did before its meta-command was rolled back with the rest.
    expect(await tableCounts(url)).toEqual(before);
    expect(await sql(url, `SELECT to_regclass('public.planted_probe') AS probe`)).toEqual([{ probe: null }]);
  });

  it('a file swapped for another after approval is stopped before psql reads any of it', async () => {
    const dir = path.join(backups.dir, 'swapped');
    await mkdir(dir);
    const approved = await runBackup({ databaseUrl: url, dir });
    await writeFile(approved.path, plantedDump(['UPDATE recipe_manager.recipes SET title = \'swapped\';']));
    const error: unknown = await restoreBackup({ databaseUrl: url, file: approved.path, expected: approved.fingerprint }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`${approved.name} is not the file that was approved: its bytes differ from those recorded at byte 0; nothing of it was kept`);
    expect(await sql(url, `SELECT 1 FROM recipe_manager.recipes WHERE title = 'swapped'`)).toEqual([]);
  });

  it('a file that ends the transaction itself is reported, not taken for a restore', async () => {
    const file = path.join(backups.dir, 'recipe-database-backup-2024-05-02_00-00-00.sql.gz');
    await writeFile(file, plantedDump(['COMMIT;', 'SELECT 1;']));
    const { fingerprint } = await checkBackupIntegrity(file);
    const error: unknown = await restoreBackup({ databaseUrl: url, file, expected: fingerprint }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/the dump ended the restore's transaction itself \(a COMMIT or ROLLBACK in the file\)/);
    // (What it committed itself stays: the bot can only say so.)
    await sql(url, 'DROP TABLE public.planted_probe');
  });
});
