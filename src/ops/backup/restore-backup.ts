/**
 * The restore primitive: the runbook's `zcat FILE | psql` with the safety catches on. The file is
 * streamed through gunzip into `psql -v ON_ERROR_STOP=1`, by default in one transaction, so a
 * failure at any point (a bad statement, a damaged or truncated file, a cancel) leaves the target
 * database exactly as it was. It does not stop the application or take a safety backup: the
 * restore procedure around it does.
 *
 *   const restored = await restoreBackup({ databaseUrl, file: backup.path, onProgress: (read, total) => … });
 *   // RestoreError 'psql failed: stopped at line 120 of the dump: ERROR: cannot drop schema recipe_manager because …'
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { withConnection } from '../postgres/databases.js';
import { errorText } from '../failure.js';
import { createScrubber, urlPassword } from '../../redact.js';
import { requireClientTool } from './client-tools.js';
import { asIntegrityError, BackupIntegrityError, dumpCompleteCheck } from './integrity.js';
import { libpqEnv } from './libpq-env.js';
import { reportProgress } from './progress-timer.js';
import { startTool } from './tool-process.js';

export interface RestoreBackupOptions {
  databaseUrl: string;
  file: string;
  /**
   * Default true: all or nothing. A `--clean` dump drops and recreates every object, and a dump
   * that stops halfway (say at `DROP SCHEMA` refused because of a table created after the
   * backup) would otherwise leave the database with its tables dropped.
   */
  singleTransaction?: boolean;
  /** Compressed bytes read so far, of the file's size; called at most every progressIntervalMs. */
  onProgress?: (readBytes: number, totalBytes: number) => unknown;
  progressIntervalMs?: number;
  signal?: AbortSignal;
  connectTimeoutMs?: number;
}

export interface RestoreResult {
  durationMs: number;
  fileBytes: number;
  dumpBytes: number;
  psqlVersion: string;
}

export class RestoreError extends Error {
  override name = 'RestoreError';
  /** True when the dump itself failed to apply (psql exit code 3), false when psql could not run it at all. */
  constructor(message: string, readonly inDump: boolean) {
    super(message);
  }
}

export async function restoreBackup(options: RestoreBackupOptions): Promise<RestoreResult> {
  const started = performance.now();
  const name = path.basename(options.file);
  const scrub = createScrubber([urlPassword(options.databaseUrl)].filter((s): s is string => s !== undefined));
  const totalBytes = await stat(options.file).then((s) => s.size, (error: unknown) => {
    throw asIntegrityError(error, name);
  });
  const serverVersionNum = await readServerVersionNum(options.databaseUrl, options.connectTimeoutMs ?? 10_000, scrub);
  const psql = await requireClientTool('psql', serverVersionNum);

  // `-f -` rather than plain stdin: psql then prefixes errors with the line of the dump they came from.
  const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--no-password', '-f', '-'];
  if (options.singleTransaction ?? true) args.push('--single-transaction');
  const tool = startTool(psql.path, args, { env: libpqEnv(options.databaseUrl, 'recipedb-ops restore'), stdin: 'pipe', stdout: 'ignore' });

  let readBytes = 0;
  let dumpBytes = 0;
  const countRead = counter((n) => (readBytes += n));
  const countDump = counter((n) => (dumpBytes += n));
  const feed = [createReadStream(options.file), countRead, createGunzip(), dumpCompleteCheck(name), countDump];
  // Registered before pipeline's own listeners, so psql is killed before pipeline closes its
  // input: psql --single-transaction commits what it got when its input merely ends.
  for (const stream of feed) stream.once('error', () => tool.child.kill('SIGKILL'));
  const cancel = (): void => void tool.child.kill('SIGKILL');
  options.signal?.addEventListener('abort', cancel, { once: true });
  if (options.signal?.aborted) cancel();
  const onProgress = options.onProgress;
  const stopProgress = reportProgress(() => readBytes, onProgress && ((read) => onProgress(read, totalBytes)), options.progressIntervalMs ?? 2_000);

  let feedError: unknown;
  try {
    const fed = pipeline([...feed, tool.child.stdin as Writable]).catch((error: unknown) => {
      feedError = error;
    });
    const [exit] = await Promise.all([tool.exited, fed]);
    if (options.signal?.aborted) throw new RestoreError('the restore was cancelled; nothing of it was kept', false);
    const fileProblem = feedError === undefined || isBrokenPipe(feedError) ? undefined : asIntegrityError(feedError, name);
    if (fileProblem instanceof BackupIntegrityError) {
      throw new RestoreError(`${fileProblem.message}; nothing of it was kept`, true);
    }
    if (exit.code !== 0) throw new RestoreError(tool.failure('psql', exit, scrub), exit.code === 3);
    if (fileProblem !== undefined) throw fileProblem;
    return { durationMs: performance.now() - started, fileBytes: readBytes, dumpBytes, psqlVersion: psql.version };
  } finally {
    stopProgress();
    options.signal?.removeEventListener('abort', cancel);
    await tool.stop('SIGKILL');
  }
}

async function readServerVersionNum(databaseUrl: string, connectTimeoutMs: number, scrub: (s: string) => string): Promise<number> {
  try {
    return await withConnection(
      databaseUrl,
      async (client) => Number((await client.query<{ num: string }>(`SELECT current_setting('server_version_num') AS num`)).rows[0]?.num),
      { connectTimeoutMs, applicationName: 'recipedb-ops restore' },
    );
  } catch (error) {
    throw new Error(`could not connect to the database to restore into it: ${scrub(errorText(error).split('\n')[0] ?? '')}`);
  }
}

function counter(add: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      add(chunk.length);
      done(null, chunk);
    },
  });
}

function isBrokenPipe(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}
