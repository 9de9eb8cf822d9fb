/**
 * Point-in-time recovery on this machine, for the tests and the bench: a private PostgreSQL that
 * archives its WAL with the real pgBackRest into a repository in a temporary folder, and the test
 * implementation of "run the restore on the data directory" (src/ops/pitr/data-directory.ts).
 *
 * How this stands in for the cluster, honestly:
 * - The restore is deploy/database/pitr-restore.sh, the very script of the database pod's init
 *   container, run with the same four request variables on this cluster's data directory (as the
 *   postgres account, as the init container runs as the postgres user).
 * - Stopping and starting the database is the bot scaling RECIPEDB_DEPLOYMENT on the fake
 *   Kubernetes API; `bindToDeployment` plays the kubelet: 0 replicas stops this server, 1 starts it
 *   again on the same folder and port (PostgreSQL then recovers, as in the pod).
 * - pgBackRest talks to a local repository (repo1-path) and a local server (pg1-path), where the
 *   cluster uses S3 and `pgbackrest server` over TLS (deploy/database/): those are not run here.
 *
 *   const cluster = await startPitrPostgres();
 *   await cluster.pgbackrest.run(['backup', '--type=full']);
 *   cluster.bindToDeployment(kube, 'recipe-database', 'recipe-database');
 *   const services = await openTestServices({ databaseUrl: cluster.url('recipes'), pitr: cluster.services, kubeconfig: kube.kubeconfigPath });
 *   await cluster.cleanup();
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { handOverToServerAccount, startLocalPostgres, type LocalPostgres } from '../../src/dev/local-postgres.js';
import { pitrRestoreEnv, type DataDirectory } from '../../src/ops/pitr/data-directory.js';
import { createPgBackRest, type PgBackRest } from '../../src/ops/pitr/pgbackrest.js';
import type { PitrServices } from '../../src/ops/pitr/pitr-services.js';
import { freePort } from './free-port.js';
import type { FakeKube } from './fake-kube.js';

export const PITR_RESTORE_SCRIPT = fileURLToPath(new URL('../../deploy/database/pitr-restore.sh', import.meta.url));
const SERVER_ACCOUNT = 'postgres';

export interface PitrPostgres {
  stanza: string;
  root: string;
  dataDir: string;
  repoDir: string;
  configFile: string;
  port: number;
  /** The server running now (a new one after each start). */
  server(): LocalPostgres;
  url(database?: string): string;
  /** pgBackRest on this cluster, run as the server account. */
  pgbackrest: PgBackRest;
  /** The test implementation of the restore on the data directory. */
  dataDirectory: DataDirectory;
  /** What the bot's services hold for point-in-time recovery here. */
  services: PitrServices;
  stop(): Promise<void>;
  start(): Promise<void>;
  /**
   * Starts the stopped server as a standby of its own WAL archive (standby.signal, pgBackRest's
   * archive-get): it accepts read-only sessions and stays in recovery until `pg_promote()` — what
   * the database pod serves while it replays WAL to a restore's target.
   */
  startStandby(): Promise<void>;
  /** Plays the kubelet for this deployment on the fake API: 0 replicas stops the server, more start it. */
  bindToDeployment(kube: FakeKube, namespace: string, deployment: string): void;
  /** What the "kubelet" could not do (a start that failed: recovery ended before its target…). */
  kubeletErrors: string[];
  /** Ends with the server's log since start, for a test's failure message. */
  serverLog(lines?: number): Promise<string[]>;
  cleanup(): Promise<void>;
}

export interface StartPitrPostgresOptions {
  stanza?: string;
  /** pgBackRest's compression (lz4 is the fastest here). */
  compressType?: 'gz' | 'lz4' | 'zst' | 'none';
  settings?: Record<string, string>;
}

const asRoot = (): boolean => process.getuid?.() === 0;

/** The program words that run pgBackRest (and the init script) as the server account when we are root. */
export function asServerAccount(program: string): string[] {
  return asRoot() ? ['runuser', '-u', SERVER_ACCOUNT, '--', program] : [program];
}

export async function startPitrPostgres(options: StartPitrPostgresOptions = {}): Promise<PitrPostgres> {
  const stanza = options.stanza ?? 'recipe-database';
  const root = await mkdtemp(path.join(os.tmpdir(), 'recipedb-pitr-'));
  const dataDir = path.join(root, 'data');
  const repoDir = path.join(root, 'repo');
  const configFile = path.join(root, 'pgbackrest.conf');
  const port = await freePort();
  // The socket lives outside PGDATA, as in the pod (/var/run/postgresql): a socket lock file copied
  // by a backup and restored would keep the server from starting.
  const socketDir = path.join(root, 'sock');
  for (const dir of ['repo', 'log', 'lock', 'spool', 'sock']) await mkdir(path.join(root, dir));
  await writeFile(
    configFile,
    [
      '[global]',
      `repo1-path=${repoDir}`,
      'repo1-retention-full=4',
      `log-path=${path.join(root, 'log')}`,
      'log-level-console=warn',
      'log-level-file=off',
      `lock-path=${path.join(root, 'lock')}`,
      `spool-path=${path.join(root, 'spool')}`,
      'start-fast=y',
      `compress-type=${options.compressType ?? 'lz4'}`,
      '',
      `[${stanza}]`,
      `pg1-path=${dataDir}`,
      `pg1-port=${port}`,
      `pg1-socket-path=${socketDir}`,
      '',
    ].join('\n'),
  );
  await handOverToServerAccount(root);
  const settings = {
    archive_mode: 'on',
    archive_command: `pgbackrest --config=${configFile} --stanza=${stanza} archive-push %p`,
    wal_level: 'replica',
    unix_socket_directories: socketDir,
    log_line_prefix: '%m [%p] ',
    ...options.settings,
  };
  const startServer = () => startLocalPostgres({ dataDir, port, durable: false, settings });
  let server = await startServer().catch(async (error: unknown) => {
    await rm(root, { recursive: true, force: true });
    throw error;
  });
  const pgbackrest = createPgBackRest({ stanza, configFile, command: asServerAccount('pgbackrest'), cwd: os.tmpdir() });
  const kubeletErrors: string[] = [];
  let transition: Promise<void> = Promise.resolve();
  let running = true;

  const stop = async (): Promise<void> => {
    if (!running) return;
    await server.stop();
    running = false;
  };
  const start = async (): Promise<void> => {
    if (running) return;
    server = await startServer();
    running = true;
  };
  const startStandby = async (): Promise<void> => {
    if (running) throw new Error('the test cluster still runs: a standby starts from a stopped server');
    const signal = path.join(dataDir, 'standby.signal');
    await writeFile(signal, '');
    await handOverToServerAccount(signal);
    const restoreCommand = `pgbackrest --config=${configFile} --stanza=${stanza} archive-get %f "%p"`;
    server = await startLocalPostgres({ dataDir, port, durable: false, settings: { ...settings, restore_command: restoreCommand } });
    running = true;
  };
  const serverLog = async (lines = 40): Promise<string[]> => {
    const text = await readFile(`${dataDir}.log`, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-lines);
  };

  const dataDirectory: DataDirectory = {
    where: `the test cluster's data directory ${dataDir} (deploy/database/pitr-restore.sh run there as the ${SERVER_ACCOUNT} account)`,
    async restore(request, ctx) {
      // The deployment is at 0: the "kubelet" may still be stopping the server.
      await transition;
      if (running) throw new Error('the test cluster still runs: the restore needs it stopped');
      await ctx.progress(`running ${path.basename(PITR_RESTORE_SCRIPT)} on ${dataDir}`);
      const started = performance.now();
      const env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        PGDATA: dataDir,
        PGBACKREST_STANZA: stanza,
        PGBACKREST_CONFIG: configFile,
        ...pitrRestoreEnv(request),
      };
      const { code, output } = await runScript(asServerAccount('sh'), [PITR_RESTORE_SCRIPT], env, ctx.signal);
      if (code !== 0) {
        const said = output.find((l) => /ERROR: \[\d+\]|refusing the request/.test(l)) ?? output[output.length - 1] ?? 'it printed nothing';
        throw new Error(`${path.basename(PITR_RESTORE_SCRIPT)} failed (exit code ${code}): ${said.trim()}`);
      }
      return { note: `${path.basename(PITR_RESTORE_SCRIPT)} restored ${dataDir} in ${((performance.now() - started) / 1000).toFixed(1)}s`, output };
    },
    serverLog,
  };

  return {
    stanza,
    root,
    dataDir,
    repoDir,
    configFile,
    port,
    server: () => server,
    url: (database) => server.url(database),
    pgbackrest,
    dataDirectory,
    services: { stanza, pgbackrest, dataDirectory },
    stop,
    start,
    startStandby,
    kubeletErrors,
    serverLog,
    bindToDeployment(kube, namespace, deployment) {
      kube.onScale(namespace, deployment, (replicas) => {
        transition = transition
          .then(() => (replicas === 0 ? stop() : start()))
          .catch((error: unknown) => {
            kubeletErrors.push(error instanceof Error ? error.message : String(error));
          });
      });
    },
    async cleanup() {
      await transition;
      await stop().catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}

function runScript(command: string[], args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<{ code: number | null; output: string[] }> {
  const [program = 'sh', ...before] = command;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...before, ...args], { env, cwd: os.tmpdir(), shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    const abort = () => child.kill('SIGTERM');
    signal.addEventListener('abort', abort, { once: true });
    child.once('error', reject);
    child.once('close', (code) => {
      signal.removeEventListener('abort', abort);
      resolve({ code, output: text.split('\n').filter((l) => l.trim() !== '') });
    });
  });
}
