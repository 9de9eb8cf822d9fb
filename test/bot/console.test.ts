import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'src/main.ts');
const TSX_CLI = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm start` as a user runs it, with the lines piped in (tsx is what `npm start` uses). */
function runConsole(input: string, env: Record<string, string>, cwd = ROOT): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX_CLI, MAIN], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('the local console', () => {
  it('runs piped lines against the configured databases and exits', async () => {
    const env = { DATABASE_URL: await createDemoTestDatabase(), STATE_DATABASE_URL: await createTestDatabase('state') };
    const run = await runConsole('status\n/recipedb help\n/as U_BOB\nnonsense\n', env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Recipe Database status');
    expect(run.stdout).toContain('PostgreSQL: up · PostgreSQL 15');
    expect(run.stdout).toContain('`/recipedb status` — database up/down');
    expect(run.stdout).toContain('Now acting as U_BOB.');
    expect(run.stdout).toContain('Unknown command `nonsense`');
    // The console prints the same Block Kit as Slack, as text: no raw JSON or mrkdwn markers.
    expect(run.stdout).not.toContain('"type":');
    expect(run.stdout).not.toContain('*PostgreSQL*');
  });

  it('runs the whole approval flow alone, with /as and numbered buttons', async () => {
    const databaseUrl = await createDemoTestDatabase();
    const session = new pg.Client({ connectionString: databaseUrl, application_name: 'recipe-app' });
    session.on('error', () => undefined);
    await session.connect();
    const pid = (await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const running = session.query('SELECT pg_sleep(600)').catch((e: Error) => e.message);
    try {
      const env = { DATABASE_URL: databaseUrl, STATE_DATABASE_URL: await createTestDatabase('state'), APPROVERS: 'U_BOB' };
      const run = await runConsole(`kill ${pid}\n1\n/as U_BOB\n1\n`, env);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`Terminate backend ${pid}`);
      expect(run.stdout).toMatch(/\[1\] Approve {2}\[2\] Reject/);
      expect(run.stdout).toContain('You cannot approve your own request');
      expect(run.stdout).toContain('Approved by @U_BOB');
      expect(run.stdout).toContain(`pid ${pid}: terminated`);
      expect(String(await running)).toMatch(/terminat/);
    } finally {
      await session.end().catch(() => undefined);
    }
  });

  it('stops start-up with one line naming a bad variable', async () => {
    const run = await runConsole('status\n', { PORT: 'abc' });
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe('recipedb-ops: configuration error: PORT: must be a port number (0–65535)');
  });

  it('starts its own embedded PostgreSQL with the demo database, and stops it at EOF', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'recipedb-console-'));
    // A checkout is normally readable by others; the postgres account must reach its .local folder.
    await chmod(cwd, 0o755);
    try {
      const run = await runConsole('status\n', {}, cwd);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain('Starting the embedded PostgreSQL');
      expect(run.stderr).toContain('Stopping the embedded PostgreSQL');
      expect(run.stdout).toContain('PostgreSQL: up');
      expect(run.stdout).toContain('(recipe_database)');
      // The server is gone: its pid file was removed by the clean shutdown.
      await expect(stat(path.join(cwd, '.local/postgres/data/postmaster.pid'))).rejects.toThrow();
      await stat(path.join(cwd, '.local/postgres/data/PG_VERSION'));
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  }, 90_000);
});
