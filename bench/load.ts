/**
 * A modest, steady background load while a section measures, so the server has something to
 * report: pgbench's TPC-B-like transactions at a fixed rate in a database of their own, plus one
 * session left idle in a transaction on the operated database (the "longest transaction", with a
 * lock held), as an application that forgot to commit would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import type { LocalPostgres } from '../src/dev/local-postgres.js';
import { ensureDatabase } from '../src/ops/postgres/databases.js';
import { withoutLibpqVariables } from './psql-checks.js';

const LOAD_DATABASE = 'pgbench_load';
const SCALE = 2;
const CLIENTS = 2;
const RATE_TPS = 25;
/** pgbench stops by itself after this, even if we were never to stop it. */
const MAX_SECONDS = 900;

export interface BackgroundLoad {
  describe: string;
  stop(): Promise<void>;
}

export async function startBackgroundLoad(server: LocalPostgres, binDir: string, operatedUrl: string): Promise<BackgroundLoad> {
  const connection = ['-h', server.host, '-p', String(server.port), '-U', server.superuser];
  await ensureDatabase(server.url(), LOAD_DATABASE);
  await run(path.join(binDir, 'pgbench'), ['-i', '-q', '-s', String(SCALE), ...connection, LOAD_DATABASE]);

  const pgbench = spawn(
    path.join(binDir, 'pgbench'),
    ['-n', '-c', String(CLIENTS), '-j', '1', '-R', String(RATE_TPS), '-T', String(MAX_SECONDS), ...connection, LOAD_DATABASE],
    { stdio: 'ignore', env: withoutLibpqVariables() },
  );
  const exited = new Promise<void>((resolve) => pgbench.once('exit', () => resolve()));
  // A pgbench that cannot connect exits at once; measuring without the load would go unnoticed.
  await new Promise((resolve) => setTimeout(resolve, 500));
  if (pgbench.exitCode !== null) throw new Error(`pgbench stopped at once (exit code ${pgbench.exitCode}): the background load could not start.`);

  const idle = new pg.Client({ connectionString: operatedUrl, application_name: 'recipe-app' });
  try {
    await idle.connect();
    await idle.query('BEGIN');
    await idle.query('SELECT count(*) FROM recipe_manager.recipes');
  } catch (error) {
    await stopChild(pgbench, exited);
    await idle.end().catch(() => undefined);
    throw error;
  }

  return {
    describe: `pgbench -R ${RATE_TPS} tps × ${CLIENTS} clients (scale ${SCALE}, own database) + 1 session idle in transaction`,
    async stop() {
      await idle.query('ROLLBACK').catch(() => undefined);
      await idle.end().catch(() => undefined);
      await stopChild(pgbench, exited);
    },
  };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}


function run(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], env: withoutLibpqVariables() });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(file)} ${args.join(' ')} failed (${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`)),
    );
  });
}
