/**
 * How the bot runs pgBackRest: the `pgbackrest` binary with an argument array (never a shell), the
 * stanza and configuration file of PGBACKREST_STANZA / PGBACKREST_CONFIG, and a minimal
 * environment — PATH, HOME, LC_ALL=C (its messages stay the English we parse), TZ=UTC, and the
 * PGBACKREST_* variables that carry repository credentials (PGBACKREST_REPO1_S3_KEY…), nothing
 * else of the bot's (no Slack tokens, no database URLs). Its console lines are read as they come;
 * a failure becomes one sentence from pgBackRest's own `ERROR: [075]: …` and `HINT:` lines.
 *
 *   const pgbackrest = createPgBackRest({ stanza: 'recipe-database', configFile: '/etc/pgbackrest/pgbackrest.conf' });
 *   const json = await pgbackrest.run(['info', '--output=json'], { timeoutMs: 60_000 });
 *   await pgbackrest.run(['backup', '--type=incr', '--log-level-console=detail'], { onLine: (line) => … });
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { formatDuration } from '../../duration.js';
import { createScrubber, type Scrubber } from '../../redact.js';
import { Failure } from '../failure.js';

export interface PgBackRestOptions {
  stanza: string;
  /** PGBACKREST_CONFIG; without it pgBackRest reads /etc/pgbackrest/pgbackrest.conf. */
  configFile?: string;
  /** The program, and words before pgBackRest's own: the tests run it as the server account (`runuser -u postgres -- pgbackrest`). */
  command?: readonly string[];
  /** Where it runs; an account other than the bot's must be able to enter it. */
  cwd?: string;
  /** Values never shown in a failure's sentence. */
  secrets?: readonly string[];
  /** The environment the PGBACKREST_* variables are taken from. */
  env?: NodeJS.ProcessEnv;
}

export interface RunOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Each console line (stdout and stderr) as it comes, without its trailing newline. */
  onLine?: (line: string) => void;
}

export interface PgBackRest {
  stanza: string;
  /** Runs `pgbackrest --stanza=… [--config=…] <args>`; resolves with its standard output. */
  run(args: readonly string[], options?: RunOptions): Promise<string>;
  /** The command line, as plans and reports show it. */
  describe(args: readonly string[]): string;
}

/** pgBackRest ended badly: `code` is its error number (75 = no backup set before the target…), null when it did not run. */
export class PgBackRestError extends Failure {
  override name = 'PgBackRestError';
  constructor(
    message: string,
    readonly code: number | null,
  ) {
    super(message);
  }
}

const MAX_STDOUT_BYTES = 32 * 1024 * 1024;
const STOP_GRACE_MS = 10_000;
/** Variables pgBackRest reads for itself; the bot's own PGBACKREST_STANZA/CONFIG are passed as options instead. */
const OWN_VARIABLES = new Set(['PGBACKREST_STANZA', 'PGBACKREST_CONFIG']);

export function createPgBackRest(options: PgBackRestOptions): PgBackRest {
  const [program = 'pgbackrest', ...before] = options.command ?? ['pgbackrest'];
  const scrub = createScrubber(options.secrets ?? []);
  const env = pgbackrestEnv(options.env ?? process.env);
  const words = (args: readonly string[]): string[] => [
    ...before,
    `--stanza=${options.stanza}`,
    ...(options.configFile ? [`--config=${options.configFile}`] : []),
    ...args,
  ];
  return {
    stanza: options.stanza,
    describe: (args) => ['pgbackrest', `--stanza=${options.stanza}`, ...args.map(quoteForDisplay)].join(' '),
    run: (args, runOptions = {}) => runProgram(program, words(args), { env, cwd: options.cwd ?? os.tmpdir(), scrub, command: args[0] ?? 'pgbackrest', ...runOptions }),
  };
}

export function pgbackrestEnv(source: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: source.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: source.HOME ?? os.tmpdir(), LC_ALL: 'C', TZ: 'UTC' };
  for (const [name, value] of Object.entries(source)) {
    if (name.startsWith('PGBACKREST_') && !OWN_VARIABLES.has(name)) env[name] = value;
  }
  return env;
}

function quoteForDisplay(word: string): string {
  const eq = word.indexOf('=');
  return eq > 0 && /\s/.test(word) ? `${word.slice(0, eq + 1)}"${word.slice(eq + 1)}"` : word;
}

interface ProgramOptions extends RunOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  scrub: Scrubber;
  command: string;
}

function runProgram(program: string, args: string[], options: ProgramOptions): Promise<string> {
  const what = `pgbackrest ${options.command}`;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new PgBackRestError(`${what} was not started: the operation was stopped`, null));
      return;
    }
    // Its own process group: stopping it stops pgBackRest's worker processes (process-max) too.
    const child = spawn(program, args, { env: options.env, cwd: options.cwd, shell: false, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    const errors = new ErrorLines();
    let stopped: string | undefined;
    const lines = (onChunk: (line: string) => void) => {
      let partial = '';
      return {
        push(chunk: string) {
          const parts = (partial + chunk).split('\n');
          partial = parts.pop() ?? '';
          for (const line of parts) onChunk(line);
        },
        end() {
          if (partial) onChunk(partial);
          partial = '';
        },
      };
    };
    const seen = (line: string): void => {
      errors.add(line);
      options.onLine?.(line);
    };
    const outLines = lines(seen);
    const errLines = lines(seen);
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdoutBytes < MAX_STDOUT_BYTES) stdout.push(chunk);
      stdoutBytes += chunk.length;
      outLines.push(chunk.toString('utf8'));
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => errLines.push(chunk));

    const signalGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    const stop = (reason: string): void => {
      if (stopped !== undefined) return;
      stopped = reason;
      signalGroup('SIGTERM');
      setTimeout(() => signalGroup('SIGKILL'), STOP_GRACE_MS).unref();
    };
    const onAbort = (): void => stop('the operation was stopped');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => stop(`it did not finish within ${formatDuration(options.timeoutMs ?? 0)}`), options.timeoutMs);

    child.once('error', (error) => {
      if (child.pid !== undefined) return;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(new PgBackRestError(options.scrub(`${what} could not be started: ${error.message} (is pgBackRest installed?)`), null));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      outLines.end();
      errLines.end();
      if (code === 0 && stopped === undefined) {
        resolve(Buffer.concat(stdout).toString('utf8'));
        return;
      }
      if (stdoutBytes > MAX_STDOUT_BYTES && code === 0) {
        reject(new PgBackRestError(`${what} printed more than ${MAX_STDOUT_BYTES} bytes`, null));
        return;
      }
      const reason =
        stopped !== undefined
          ? `${what} was stopped: ${stopped}`
          : errors.sentence(what) ?? (signal ? `${what} was killed by ${signal}` : `${what} failed with exit code ${code ?? 'unknown'}${errors.tail() ? `: ${errors.tail()}` : ''}`);
      reject(new PgBackRestError(options.scrub(reason), stopped === undefined ? code : null));
    });
  });
}

/** Keeps pgBackRest's first `ERROR: [nnn]: …` with its HINTs, and the last few lines. */
class ErrorLines {
  private error: string | undefined;
  private hints: string[] = [];
  private last: string[] = [];
  private inError = false;

  add(raw: string): void {
    const line = raw.trim();
    if (!line) return;
    this.last.push(line.slice(0, 500));
    if (this.last.length > 5) this.last.shift();
    const error = /\bERROR: \[\d+\]: (.*)$/.exec(line);
    if (error && this.error === undefined) {
      this.error = error[1];
      this.inError = true;
      return;
    }
    const hint = /^(?:.*\s)?HINT: (.*)$/.exec(line);
    if (hint && this.inError && this.hints.length < 2) {
      this.hints.push(hint[1] as string);
      return;
    }
    this.inError = false;
  }

  sentence(what: string): string | undefined {
    if (this.error === undefined) return undefined;
    return `${what} failed: ${this.error}${this.hints.length ? ` (${this.hints.join('; ')})` : ''}`;
  }

  tail(): string {
    return this.last.join(' ').slice(-400);
  }
}
