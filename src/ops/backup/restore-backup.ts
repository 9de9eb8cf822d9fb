/**
 * The restore primitive: the runbook's `zcat FILE | psql` with the safety catches on. The file is
 * read once, every chunk checked against the approved fingerprint before it moves on (a file
 * changed after approval never reaches psql), gunzipped, and fed to `psql -v ON_ERROR_STOP=1`
 * inside the bot's own BEGIN … COMMIT and in psql's restricted mode (restricted-script.ts), so the
 * file can run SQL but never a psql meta-command. The COMMIT is written only after the whole
 * file was read and proven to be the approved one: any failure, a cancel, or the bot dying
 * midway leaves the target database exactly as it was. It does not stop the application or take
 * a safety backup: the restore procedure around it does.
 *
 *   const restored = await restoreBackup({ databaseUrl, file: backup.path, expected: record.fingerprint, onProgress });
 *   // RestoreError 'psql failed: stopped at line 120 of the dump: ERROR: cannot drop schema recipe_manager because …'
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { withConnection } from '../postgres/databases.js';
import { trackToolSession } from '../postgres/bot-sessions.js';
import { errorText } from '../failure.js';
import { createScrubber, urlPassword } from '../../redact.js';
import { requireClientTool } from './client-tools.js';
import { verifyingStream, type Fingerprint } from './fingerprint.js';
import { asIntegrityError, BackupIntegrityError, dumpCompleteCheck } from './integrity.js';
import { libpqEnv } from './libpq-env.js';
import { reportProgress } from './progress-timer.js';
import { leaveOutRestrictLines, restrictedScript } from './restricted-script.js';
import { startTool } from './tool-process.js';

export interface RestoreBackupOptions {
  databaseUrl: string;
  file: string;
  /** The approved bytes: nothing of the file reaches psql before it is proven to be them. */
  expected: Fingerprint;
  /** Compressed bytes read so far, of the file's size; called at most every progressIntervalMs. */
  onProgress?: (readBytes: number, totalBytes: number) => unknown;
  progressIntervalMs?: number;
  signal?: AbortSignal;
  connectTimeoutMs?: number;
  /** psql's session (its backend pid), as soon as psql has connected: watch it by pid, not by name. */
  onSession?: (pid: number) => void;
}

export interface RestoreResult {
  durationMs: number;
  fileBytes: number;
  dumpBytes: number;
  psqlVersion: string;
}

export class RestoreError extends Error {
  override name = 'RestoreError';
  /**
   * `inDump`: the file itself did not restore (psql stopped at an error, or the file is not whole
   * or not the approved one), as opposed to psql not running at all. `rolledBack`: nothing of it
   * was kept (false only when psql ended while committing).
   */
  constructor(message: string, readonly inDump: boolean, readonly rolledBack = true) {
    super(message);
  }
}

const PSQL_ARGS = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '--no-password', '-f', '-'];
/** psql's output is read for the session's pid (first line) and the proof of the COMMIT (last lines). */
const KEPT_OUTPUT = 4_096;

export async function restoreBackup(options: RestoreBackupOptions): Promise<RestoreResult> {
  const started = performance.now();
  const name = path.basename(options.file);
  const scrub = createScrubber([urlPassword(options.databaseUrl)].filter((s): s is string => s !== undefined));
  const totalBytes = await stat(options.file).then((s) => s.size, (error: unknown) => {
    throw asIntegrityError(error, name);
  });
  const serverVersionNum = await readServerVersionNum(options.databaseUrl, options.connectTimeoutMs ?? 10_000, scrub);
  const psql = await requireClientTool('psql', serverVersionNum);
  const script = restrictedScript();

  // `-f -` rather than plain stdin: psql then prefixes errors with the line they came from.
  const tool = startTool(psql.path, PSQL_ARGS, {
    env: libpqEnv(options.databaseUrl, 'recipedb-ops restore'),
    stdin: 'pipe',
    stdout: 'pipe',
    scriptLineOffset: script.headerLines,
  });
  // psql's session is one of the bot's (kill refuses it, active and status count it apart) while it runs.
  let forgetSession: (() => void) | undefined;
  const output = readOutput(tool.child.stdout as Readable, (pid) => {
    forgetSession = trackToolSession(options.databaseUrl, pid);
    options.onSession?.(pid);
  });

  let readBytes = 0;
  let dumpBytes = 0;
  const countRead = counter((n) => (readBytes += n));
  const countDump = counter((n) => (dumpBytes += n));
  const feed = [
    createReadStream(options.file, { highWaterMark: 1 << 20 }),
    countRead,
    verifyingStream(options.expected, name),
    createGunzip(),
    countDump,
    dumpCompleteCheck(name),
    leaveOutRestrictLines(),
    script.framing(),
  ];
  // Stop psql at once on a broken feed; even without this, it would never see a COMMIT.
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
    const committed = script.commitSent() && exit.code === 0 && script.committed(output.tail());
    if (options.signal?.aborted && !committed) {
      throw new RestoreError(`the restore was cancelled; ${script.commitSent() ? 'it may have been committed' : 'nothing of it was kept'}`, false, !script.commitSent());
    }
    const fileProblem = feedError === undefined || isBrokenPipe(feedError) ? undefined : asIntegrityError(feedError, name);
    if (fileProblem instanceof BackupIntegrityError) throw new RestoreError(`${fileProblem.message}; nothing of it was kept`, true);
    if (exit.code !== 0) {
      // psql stops at the first error with ON_ERROR_STOP (exit 3): its transaction is rolled back.
      throw new RestoreError(tool.failure('psql', exit, scrub), exit.code === 3, exit.code === 3 || !script.commitSent());
    }
    if (fileProblem !== undefined) throw fileProblem;
    if (!committed) throw new RestoreError('psql ended without confirming the COMMIT; check the database', false, false);
    return { durationMs: performance.now() - started, fileBytes: readBytes, dumpBytes, psqlVersion: psql.version };
  } finally {
    stopProgress();
    options.signal?.removeEventListener('abort', cancel);
    await tool.stop('SIGKILL');
    forgetSession?.();
  }
}

/** Reads psql's output as it comes: the first line is its session's pid; only the last few KB are kept. */
function readOutput(stdout: Readable, onSession: (pid: number) => void): { tail(): string } {
  let first = '';
  let told = false;
  let tail = '';
  stdout.setEncoding('utf8');
  stdout.on('data', (chunk: string) => {
    if (!told) {
      first += chunk;
      const newline = first.indexOf('\n');
      if (newline !== -1) {
        told = true;
        const pid = Number(first.slice(0, newline).trim());
        if (Number.isInteger(pid) && pid > 0) onSession(pid);
        first = '';
      }
    }
    tail = (tail + chunk).slice(-KEPT_OUTPUT);
  });
  return { tail: () => tail };
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
