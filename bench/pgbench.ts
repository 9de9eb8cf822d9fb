/**
 * pgbench for the sections that put the server under load (load.ts, saturated.ts): its tables in
 * a database of their own, and a run in the background that is stopped with SIGINT (SIGKILL after
 * 5 s) when the section is done.
 *
 *   const connection = pgbenchConnection(server);
 *   await initPgbench(binDir, connection, 'pgbench_load', 2);
 *   const run = await startPgbench(binDir, ['-c', '2', '-R', '25', '-T', '900', ...connection, 'pgbench_load'], { settleMs: 500 });
 *   await run.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { LocalPostgres } from '../src/dev/local-postgres.js';
import { withoutLibpqVariables } from './psql-checks.js';

export interface PgbenchRun {
  stop(): Promise<void>;
}

/** As the server's superuser, over its socket or address. */
export function pgbenchConnection(server: LocalPostgres): string[] {
  return ['-h', server.host, '-p', String(server.port), '-U', server.superuser];
}

/** `pgbench -i -q -s scale`: its tables, filled, in `database` (which must exist). */
export async function initPgbench(binDir: string, connection: string[], database: string, scale: number): Promise<void> {
  const args = ['-i', '-q', '-s', String(scale), ...connection, database];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(path.join(binDir, 'pgbench'), args, { stdio: ['ignore', 'ignore', 'pipe'], env: withoutLibpqVariables() });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`pgbench ${args.join(' ')} failed (${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`)),
    );
  });
}

/**
 * `pgbench -n …args` in the background. A pgbench that cannot connect exits at once, and measuring
 * without the load would go unnoticed: it must still run after `settleMs`.
 */
export async function startPgbench(binDir: string, args: string[], options: { settleMs: number }): Promise<PgbenchRun> {
  const child = spawn(path.join(binDir, 'pgbench'), ['-n', ...args], { stdio: 'ignore', env: withoutLibpqVariables() });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, options.settleMs));
  if (child.exitCode !== null) throw new Error(`pgbench stopped at once (exit code ${child.exitCode})`);
  return { stop: () => stopChild(child, exited) };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
