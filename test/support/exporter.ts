/**
 * The real postgres_exporter (Debian's `prometheus-postgres-exporter`, /usr/bin/prometheus-postgres-exporter)
 * started on a free port against a test database, for tests of what the bot reads from it.
 *
 *   const exporter = await startExporter({ databaseUrl, queries: RECIPE_QUERIES });
 *   … EXPORTER_URL = exporter.url …
 *   await exporter.stop();
 *
 * A missing binary is a failure with the install command in its message, not a silent skip, unless
 * RECIPEDB_SKIP_EXPORTER_TESTS=1 (see exporterTestsSkipped).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './free-port.js';

const BINARY_NAMES = ['prometheus-postgres-exporter', 'postgres_exporter'];

export const EXPORTER_INSTALL_HINT =
  'postgres_exporter is not installed: apt-get install -y prometheus-postgres-exporter (binary /usr/bin/prometheus-postgres-exporter), ' +
  'or set RECIPEDB_SKIP_EXPORTER_TESTS=1 to skip the tests that need it';

/** True only when the person running the tests asked to skip them. */
export function exporterTestsSkipped(): boolean {
  return process.env.RECIPEDB_SKIP_EXPORTER_TESTS === '1';
}

export function findExporterBinary(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'].filter(Boolean);
  for (const dir of dirs) {
    for (const name of BINARY_NAMES) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return null;
}

/**
 * Metrics of postgres_exporter 0.11's default collectors that deploy/'s alert rules use (the
 * settings ones need the default `--no-disable-settings-metrics`). test/prometheus-rules.test.ts
 * checks each against a running exporter; test/deploy.test.ts lets the rules name only these.
 */
export const EXPORTER_0_11_METRICS = [
  'pg_up',
  'pg_settings_max_connections',
  'pg_stat_database_numbackends',
  'pg_stat_database_blks_hit',
  'pg_stat_database_blks_read',
  'pg_stat_database_deadlocks',
  'pg_stat_activity_max_tx_duration',
  'pg_database_size_bytes',
  'pg_stat_archiver_archived_count',
  'pg_stat_archiver_failed_count',
] as const;

export interface RunningExporter {
  /** The /metrics URL, as EXPORTER_URL takes it. */
  url: string;
  /** What the exporter wrote to stdout and stderr (its logfmt log). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartExporterOptions {
  /** The database it watches (a postgres:// URL); `sslmode=disable` is added. */
  databaseUrl: string;
  /** The YAML of a custom queries file (`--extend.query-path`). */
  queries?: string;
  /** How long to wait for a first scrape that has pg_up in it. */
  startTimeoutMs?: number;
  /** Also export pg_settings_* (the exporter's default; off here unless asked, as it is large). */
  settingsMetrics?: boolean;
}

export async function startExporter(options: StartExporterOptions): Promise<RunningExporter> {
  const binary = findExporterBinary();
  if (binary === null) throw new Error(EXPORTER_INSTALL_HINT);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'recipedb-exporter-'));
  const args = [`--web.listen-address=127.0.0.1:${port}`, ...(options.settingsMetrics ? [] : ['--disable-settings-metrics']), '--log.level=warn'];
  if (options.queries !== undefined) {
    const file = join(dir, 'queries.yaml');
    writeFileSync(file, options.queries);
    args.push(`--extend.query-path=${file}`);
  }
  const dsn = new URL(options.databaseUrl);
  dsn.searchParams.set('sslmode', 'disable');
  // Only what it needs: no PG_EXPORTER_* or PG* from the developer's shell changes what it does.
  const child = spawn(binary, args, { env: { PATH: process.env.PATH ?? '', DATA_SOURCE_NAME: dsn.toString() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = `http://127.0.0.1:${port}/metrics`;
  const exporter: RunningExporter = {
    url,
    output: () => output,
    async stop() {
      await stopProcess(child, exited);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitForMetrics(url, exited, options.startTimeoutMs ?? 15_000);
  } catch (error) {
    await exporter.stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}; its output: ${output.slice(-2000) || '(none)'}`);
  }
  return exporter;
}

async function waitForMetrics(url: string, exited: Promise<number | null>, timeoutMs: number): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`postgres_exporter exited with code ${exitCode} before serving /metrics`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      const text = await response.text();
      if (response.ok && /^pg_up /m.test(text)) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`postgres_exporter did not serve ${url} within ${timeoutMs} ms (${last})`);
}

async function stopProcess(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(killer);
}

