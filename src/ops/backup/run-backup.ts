/**
 * One backup of the operated database, the runbook's `pg_dump --clean --if-exists | gzip` made
 * safe: pg_dump's output is streamed through gzip into a temporary file in BACKUP_DIR (hashed and
 * counted on the way, with backpressure, so memory does not grow with the database), decompressed
 * on the way by a second thread to prove the stream whole (in-flight-check.ts), synced, read back
 * to prove the bytes on disk are those bytes (SHA-256), and only then given its final name. Any
 * failure removes the temporary file and leaves nothing under the final name.
 *
 *   const backup = await runBackup({ databaseUrl, dir: '/backups/recipe-database', verifyTables, onProgress: (bytes) => … });
 *   backup.name // 'recipe-database-backup-2026-01-15_10-30-00.sql.gz'
 *
 * The row counts of VERIFY_TABLES are taken in the very snapshot pg_dump dumps (pg_dump --snapshot
 * with a snapshot exported by a transaction kept open for the whole dump), so that a restore can
 * be proven against them exactly. Only where a snapshot cannot be exported are they counted
 * alongside the dump instead, and the sidecar says so.
 */
import { link, lstat, open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import pg from 'pg';
import { createScrubber, urlPassword, type Scrubber } from '../../redact.js';
import { backupFileName, partialFileName } from './backup-name.js';
import { fileSystemProblem, syncDir } from './backup-dir.js';
import { requireClientTool } from './client-tools.js';
import { countRows, type RowCounts } from './count-rows.js';
import { FingerprintHasher, type Fingerprint } from './fingerprint.js';
import { fileSha256 } from './integrity.js';
import { inFlightCheck } from './in-flight-check.js';
import { libpqEnv } from './libpq-env.js';
import { reportProgress } from './progress-timer.js';
import { writeSidecar, type BackupSidecar } from './sidecar.js';
import { startTool, type RunningTool } from './tool-process.js';
import { describeFailure, errorText, failure } from '../failure.js';
import { withConnection } from '../postgres/databases.js';
import { nameToolSession, trackBotSession, trackNamedToolSession } from '../postgres/bot-sessions.js';

export interface RunBackupOptions {
  databaseUrl: string;
  dir: string;
  /** `schema.table` names whose row counts are recorded (VERIFY_TABLES). */
  verifyTables?: readonly string[];
  now?: () => Date;
  /** Bytes of dump read from pg_dump so far (before compression); called at most every progressIntervalMs. */
  onProgress?: (dumpedBytes: number) => unknown;
  progressIntervalMs?: number;
  /** Aborting stops pg_dump and fails the backup with "the backup was cancelled". */
  signal?: AbortSignal;
  /** Recorded in the sidecar: a Slack user ID, or `schedule`. */
  requestedBy?: string;
  connectTimeoutMs?: number;
  /** How long pg_dump (and the row counts) wait for a table lock before failing. */
  lockWaitTimeoutMs?: number;
  gzipLevel?: number;
  /**
   * Called once the file is complete and checked, before it gets its final name (the state
   * database records it here): a failure here fails the backup and leaves no file.
   */
  beforePublish?: (backup: BackupResult) => Promise<void>;
}

export interface BackupResult {
  name: string;
  path: string;
  /** Size of the .sql.gz file. */
  sizeBytes: number;
  /** Size of the SQL inside it. */
  dumpBytes: number;
  sha256: string;
  /** The whole file's and each chunk's checksum, which a restore checks every byte against. */
  fingerprint: Fingerprint;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  /** Dump bytes per second over the whole backup. */
  throughput: number;
  serverVersion: string;
  rowCounts: RowCounts;
  rowCountsTaken: 'same-snapshot' | 'separately';
  /** Problems that did not spoil the backup (a sidecar that could not be written). */
  warnings: string[];
}

export class BackupCancelledError extends Error {
  override name = 'BackupCancelledError';
}

const DEFAULTS = {
  progressIntervalMs: 2_000,
  connectTimeoutMs: 10_000,
  lockWaitTimeoutMs: 120_000,
  gzipLevel: 6,
};

export async function runBackup(options: RunBackupOptions): Promise<BackupResult> {
  const now = options.now ?? (() => new Date());
  const dir = path.resolve(options.dir);
  const startedAt = now();
  const started = performance.now();
  const name = backupFileName(startedAt);
  const finalPath = path.join(dir, name);
  const partialPath = path.join(dir, partialFileName(name));
  const scrub = createScrubber([urlPassword(options.databaseUrl)].filter((s): s is string => s !== undefined));
  const lockWaitTimeoutMs = options.lockWaitTimeoutMs ?? DEFAULTS.lockWaitTimeoutMs;

  if (await exists(finalPath)) throw new Error(`a backup named ${name} already exists: try again in a second`);
  if (options.signal?.aborted) throw new BackupCancelledError('the backup was cancelled');

  const snapshot = await openSnapshot(options.databaseUrl, options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs, lockWaitTimeoutMs, scrub);
  let file: FileHandle | undefined;
  let published = false;
  try {
    const pgDump = await requireClientTool('pg_dump', snapshot.serverVersionNum);
    try {
      file = await open(partialPath, 'wx', 0o640);
    } catch (error) {
      throw new Error(`could not create the backup file in ${dir}: ${fileSystemProblem(error)}`);
    }
    const args = ['--format=plain', '--clean', '--if-exists', '--no-password', `--lock-wait-timeout=${lockWaitTimeoutMs}ms`];
    if (snapshot.snapshotId !== undefined) args.push(`--snapshot=${snapshot.snapshotId}`);
    const sessionName = await nameToolSession(snapshot.client, 'recipedb-ops pg_dump');
    // The write stream owns the handle from here on and closes it, also on failure.
    const output = file.createWriteStream();
    file = undefined;
    const dump = startDump(output, {
      name,
      pgDump: pgDump.path,
      args,
      env: libpqEnv(options.databaseUrl, sessionName.applicationName),
      dir,
      scrub,
      signal: options.signal,
      onProgress: options.onProgress,
      progressIntervalMs: options.progressIntervalMs ?? DEFAULTS.progressIntervalMs,
      gzipLevel: options.gzipLevel ?? DEFAULTS.gzipLevel,
    });
    // pg_dump's session is one of the bot's (`kill` leaves it alone) from right after it connects
    // until it exits. It is found through the snapshot's session, before the counts take it over.
    await trackNamedToolSession(snapshot.client, sessionName, dump.exited);
    const counting = countRows(snapshot.client, options.verifyTables ?? []);
    counting.catch(() => undefined); // awaited below; the dump may fail first
    const written = await dump.written;
    const rowCounts = await counting.catch((error: unknown) => {
      throw new Error(`could not count the rows of VERIFY_TABLES: ${scrub(errorText(error))}`);
    });
    const dumpMs = performance.now() - started;
    await syncFile(partialPath);

    // The stream was decompressed whole while it was written (dumpInto); what remains is to
    // prove that the bytes on disk are those bytes.
    const checkStarted = performance.now();
    const onDisk = await fileSha256(partialPath);
    if (onDisk.sha256 !== written.sha256 || onDisk.bytes !== written.fileBytes) {
      throw new Error(`the backup file read back differs from what was written (${onDisk.bytes} of ${written.fileBytes} bytes)`);
    }
    const checkMs = performance.now() - checkStarted;

    const finishedAt = now();
    const durationMs = performance.now() - started;
    const result: BackupResult = {
      name,
      path: finalPath,
      sizeBytes: written.fileBytes,
      dumpBytes: written.dumpBytes,
      sha256: written.sha256,
      fingerprint: written.fingerprint,
      startedAt,
      finishedAt,
      durationMs,
      throughput: written.dumpBytes / Math.max(durationMs / 1000, 0.001),
      serverVersion: snapshot.serverVersion,
      rowCounts,
      rowCountsTaken: snapshot.snapshotId !== undefined ? 'same-snapshot' : 'separately',
      warnings: [],
    };
    await options.beforePublish?.(result);
    await publish(partialPath, finalPath, name, dir);
    published = true;
    const sidecar: BackupSidecar = {
      format: 1,
      name,
      origin: 'recipedb-ops',
      sha256: result.sha256,
      sizeBytes: result.sizeBytes,
      dumpBytes: result.dumpBytes,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durations: { dumpMs: Math.round(dumpMs), checkMs: Math.round(checkMs), totalMs: Math.round(durationMs) },
      server: { version: snapshot.serverVersion, versionNum: snapshot.serverVersionNum },
      pgDumpVersion: pgDump.version,
      database: snapshot.database,
      requestedBy: options.requestedBy,
      rowCounts,
      rowCountsTaken: result.rowCountsTaken,
      verified: false,
      verifiedAt: null,
    };
    // The backup is complete and restorable without its sidecar; losing the sidecar is a warning.
    await writeSidecar(finalPath, sidecar).catch((error: unknown) => {
      result.warnings.push(`the sidecar ${name}.json could not be written: ${fileSystemProblem(error)}`);
    });
    return result;
  } finally {
    await file?.close().catch(() => undefined);
    if (!published) await rm(partialPath, { force: true }).catch(() => undefined);
    await snapshot.close({ abandon: !published });
  }
}

interface Snapshot {
  client: pg.Client;
  serverVersionNum: number;
  serverVersion: string;
  database: string;
  /** Undefined when the server could not export one (the counts are then taken separately). */
  snapshotId: string | undefined;
  /** `abandon`: a failed or cancelled backup, whose row count may still wait for a lock. */
  close(options: { abandon: boolean }): Promise<void>;
}

/**
 * A read-only repeatable-read transaction whose snapshot pg_dump imports. It must stay open until
 * pg_dump has imported it, so it stays open until pg_dump is done; pg_dump holds the same
 * snapshot meanwhile anyway, so this costs the server nothing more.
 */
async function openSnapshot(databaseUrl: string, connectTimeoutMs: number, lockWaitTimeoutMs: number, scrub: Scrubber): Promise<Snapshot> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: connectTimeoutMs, application_name: 'recipedb-ops backup' });
  // A connection lost while pg_dump runs surfaces through the next query; it must not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    // It idles in its transaction for as long as pg_dump runs: `kill --older-than` must not end it.
    await trackBotSession(client);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw failure(`could not connect to the database to back it up: ${scrub(describeFailure(error))}`, error);
  }
  try {
    const { rows } = await client.query<{ num: string; version: string; database: string; pid: number }>(
      `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version, current_database() AS database,
              pg_backend_pid() AS pid`,
    );
    const info = rows[0] as { num: string; version: string; database: string; pid: number };
    const begin = async (): Promise<void> => {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      // This session idles in its transaction while pg_dump works; the counts may take long on big tables.
      await client.query(`SELECT set_config('statement_timeout', '0', true), set_config('idle_in_transaction_session_timeout', '0', true),
                                 set_config('lock_timeout', $1, true)`, [`${lockWaitTimeoutMs}ms`]);
    };
    await begin();
    let snapshotId: string | undefined;
    try {
      const exported = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
      snapshotId = exported.rows[0]?.id;
    } catch {
      // Some servers (old standbys) cannot export snapshots: fall back to counting alongside the dump.
      await client.query('ROLLBACK');
      await begin();
    }
    return {
      client,
      serverVersionNum: Number(info.num),
      serverVersion: info.version,
      database: info.database,
      snapshotId,
      async close({ abandon }) {
        // A count still waiting for a lock would hold the ROLLBACK (and the connection's end) behind
        // it until the lock is released: its session is ended from outside instead. Same role, so
        // no pg_signal_backend is needed.
        if (abandon) {
          await withConnection(databaseUrl, (other) => other.query('SELECT pg_terminate_backend($1)', [info.pid]), { connectTimeoutMs }).catch(() => undefined);
        } else {
          await client.query('ROLLBACK').catch(() => undefined);
        }
        await client.end().catch(() => undefined);
      },
    };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

interface DumpIntoOptions {
  /** The backup's name, for the check's messages. */
  name: string;
  pgDump: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  dir: string;
  scrub: Scrubber;
  signal: AbortSignal | undefined;
  onProgress: ((dumpedBytes: number) => unknown) | undefined;
  progressIntervalMs: number;
  gzipLevel: number;
}

interface Written {
  fileBytes: number;
  dumpBytes: number;
  sha256: string;
  fingerprint: Fingerprint;
}

interface RunningDump {
  /** pg_dump has exited. */
  exited: Promise<unknown>;
  /** The dump is in the file, checked; or why not. */
  written: Promise<Written>;
}

/** pg_dump → count → gzip → check → hash → file, with backpressure all the way back to pg_dump's pipe. */
function startDump(output: Writable, o: DumpIntoOptions): RunningDump {
  const tool = startTool(o.pgDump, o.args, { env: o.env, stdin: 'ignore', stdout: 'pipe' });
  const written = dumpInto(tool, output, o);
  written.catch(() => undefined); // the caller awaits it; a failure before then is not unhandled
  return { exited: tool.exited, written };
}

async function dumpInto(tool: RunningTool, output: Writable, o: DumpIntoOptions): Promise<Written> {
  const hash = new FingerprintHasher();
  let dumpBytes = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      dumpBytes += chunk.length;
      done(null, chunk);
    },
  });
  const hashed = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const check = inFlightCheck(o.name);
  const stopProgress = reportProgress(() => dumpBytes, o.onProgress, o.progressIntervalMs);
  const cancel = (): void => void tool.stop();
  o.signal?.addEventListener('abort', cancel, { once: true });
  let writeError: unknown;
  try {
    const piped = pipeline(
      tool.child.stdout as Readable,
      counted,
      // Large chunks: fewer hops through the stream machinery per MB on a CPU-bound path.
      createGzip({ level: o.gzipLevel, chunkSize: 128 * 1024 }),
      check.tap,
      hashed,
      output,
    ).catch(async (error: unknown) => {
      writeError = error;
      await tool.stop();
    });
    const [exit] = await Promise.all([tool.exited, piped]);
    if (o.signal?.aborted) throw new BackupCancelledError('the backup was cancelled');
    if (writeError !== undefined) throw new Error(`could not write the backup to ${o.dir}: ${fileSystemProblem(writeError)}`);
    if (exit.code !== 0) throw new Error(tool.failure('pg_dump', exit, o.scrub));
    const checked = await check.result();
    if (checked.dumpBytes !== dumpBytes) throw new Error(`the compressed backup decompresses to ${checked.dumpBytes} bytes, not the ${dumpBytes} dumped`);
    const fingerprint = hash.digest();
    return { fileBytes: fingerprint.sizeBytes, dumpBytes, sha256: fingerprint.sha256, fingerprint };
  } finally {
    o.signal?.removeEventListener('abort', cancel);
    stopProgress();
    await tool.stop();
  }
}

/**
 * Gives the checked file its final name without ever replacing another file: link() fails when
 * the name is taken, where rename() would silently overwrite it.
 */
async function publish(partialPath: string, finalPath: string, name: string, dir: string): Promise<void> {
  const taken = new Error(`a backup named ${name} appeared while this one was being written: this one was discarded`);
  try {
    await link(partialPath, finalPath);
    await rm(partialPath, { force: true }).catch(() => undefined);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') throw taken;
    // File systems without hard links: check, then rename (a narrow race the lock makes theoretical).
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK'].includes(code)) {
      throw new Error(`could not name the backup ${name}: ${fileSystemProblem(error)}`);
    }
    if (await exists(finalPath)) throw taken;
    await rename(partialPath, finalPath);
  }
  await syncDir(dir);
}

/** fsync through a descriptor of our own: fsync flushes the file, whichever descriptor wrote it. */
async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch {
    return false;
  }
}
