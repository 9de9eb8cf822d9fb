/** Shared set-ups for the backup tests: temporary BACKUP_DIRs, SQL helpers, the runbook's own pipeline. */
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { findClientTool } from '../../../src/ops/backup/client-tools.js';
import { libpqEnv } from '../../../src/ops/backup/libpq-env.js';

export async function tempBackupDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'recipedb-backups-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export async function tableCounts(url: string): Promise<Record<string, number>> {
  const [row] = await sql<Record<string, string>>(url, `
    SELECT (SELECT count(*) FROM recipe_manager.users) AS users,
           (SELECT count(*) FROM recipe_manager.recipes) AS recipes,
           (SELECT count(*) FROM recipe_manager.ingredients) AS ingredients,
           (SELECT count(*) FROM recipe_manager.reviews) AS reviews`);
  return Object.fromEntries(Object.entries(row ?? {}).map(([k, v]) => [k, Number(v)]));
}

/**
 * The runbook's `pg_dump -d DB --clean --if-exists | gzip > FILE`, built from processes and a pipe
 * in Node (argument arrays, no shell).
 */
export async function runbookBackup(databaseUrl: string, file: string): Promise<void> {
  const env = libpqEnv(databaseUrl, 'runbook');
  const out = await open(file, 'wx');
  try {
    const pgDump = spawn(findClientTool('pg_dump'), ['--clean', '--if-exists'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const gzip = spawn('gzip', [], { stdio: ['pipe', out.fd, 'inherit'] });
    pgDump.stdout.pipe(gzip.stdin as Writable);
    const exited = (child: ReturnType<typeof spawn>) => new Promise<number | null>((resolve) => child.once('close', resolve));
    const [dumpCode, gzipCode] = await Promise.all([exited(pgDump), exited(gzip)]);
    if (dumpCode !== 0 || gzipCode !== 0) throw new Error(`runbook pipeline failed: pg_dump ${dumpCode}, gzip ${gzipCode}`);
  } finally {
    await out.close();
  }
}

/** Waits until `check` returns a value, polling; fails after `ms`. */
export async function waitUntil<T>(check: () => Promise<T | undefined>, ms = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A session holding ACCESS EXCLUSIVE on a table until released: pg_dump waits behind it. */
export async function holdTableLock(url: string, table: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return {
    async release() {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    },
  };
}

/** The pid of pg_dump's session once it waits for a lock. */
export function waitingPgDumpPid(url: string): Promise<number> {
  return waitUntil(async () => {
    const rows = await sql<{ pid: number }>(url, `
      SELECT pid FROM pg_stat_activity
       WHERE datname = current_database() AND application_name LIKE 'recipedb-ops pg_dump %' AND wait_event_type = 'Lock'`);
    return rows[0]?.pid;
  }, 10_000, 'pg_dump to wait for the table lock');
}

/** A transaction holding ACCESS EXCLUSIVE on recipes: pg_dump waits for it. */
export async function lockRecipes(url: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url, application_name: 'test-lock-holder' });
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE recipe_manager.recipes IN ACCESS EXCLUSIVE MODE');
  return {
    async release() {
      await client.query('COMMIT').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** Until some session of the backup waits for the lock. */
export async function backupIsWaiting(url: string, timeoutMs = 15_000): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      const { rowCount } = await client.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND application_name <> 'test-lock-holder'`,
      );
      if (rowCount) return;
    }
    throw new Error('the backup never waited for the lock');
  } finally {
    await client.end();
  }
}

/**
 * A file that passes every integrity check: valid gzip, pg_dump's completion line at the end. Its
 * line 6 writes (a table `public.planted_probe`, in any database, scratch or not); its own lines
 * start at line 7.
 */
export function plantedDump(lines: string[]): Buffer {
  return gzipSync(
    ['--', '-- PostgreSQL database dump', '--', '', 'SET statement_timeout = 0;', 'CREATE TABLE public.planted_probe (id int);', ...lines, '', '--', '-- PostgreSQL database dump complete', '--', ''].join('\n'),
  );
}

/** The meta-commands a hostile file would use, each with what it would leave behind if it ran. */
export function hostileFiles(markerDir: string, otherDatabase: string): { name: string; lines: string[]; marker?: string }[] {
  const marker = (n: string) => path.join(markerDir, `ran-${n}`);
  return [
    { name: 'recipe-database-backup-2024-05-01_00-00-01.sql.gz', lines: [`\\! touch ${marker('shell')}`], marker: marker('shell') },
    { name: 'recipe-database-backup-2024-05-01_00-00-02.sql.gz', lines: [`\\connect ${otherDatabase}`, 'INSERT INTO planted_target VALUES (1);'] },
    { name: 'recipe-database-backup-2024-05-01_00-00-03.sql.gz', lines: [`\\copy (SELECT 1) TO PROGRAM 'touch ${marker('copy')}'`], marker: marker('copy') },
    { name: 'recipe-database-backup-2024-05-01_00-00-04.sql.gz', lines: [`\\o |touch ${marker('pipe')}`, 'SELECT 1;'], marker: marker('pipe') },
    // Its own \restrict and \unrestrict, mid-file: a key it chose cannot lift the bot's.
    {
      name: 'recipe-database-backup-2024-05-01_00-00-05.sql.gz',
      lines: ['\\unrestrict abcdefabcdefabcdef', `\\! touch ${marker('unrestrict')}`],
      marker: marker('unrestrict'),
    },
  ];
}
