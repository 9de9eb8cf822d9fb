/**
 * Runs pg_dump or psql as a child process (an argument array, never a shell) and turns how it
 * ended into one sentence. Their stderr is read as it comes, keeping only what explains a failure,
 * so a chatty tool cannot grow the bot's memory.
 *
 *   const tool = startTool(pgDump, ['--clean'], { env, stdin: 'ignore', stdout: 'pipe' });
 *   const exit = await tool.exited; // { code, signal }
 *   if (exit.code !== 0) throw new Error(tool.failure('pg_dump', exit, scrub));
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Scrubber } from '../../redact.js';

export interface ToolExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningTool {
  child: ChildProcess;
  exited: Promise<ToolExit>;
  /** The sentence for a run that ended badly, from the first error the tool printed. */
  failure(what: string, exit: ToolExit, scrub: Scrubber): string;
  /** SIGTERM, then SIGKILL if the tool is still running after a grace period; resolves when it has exited. */
  stop(signal?: NodeJS.Signals): Promise<ToolExit>;
}

const STOP_GRACE_MS = 5_000;

export interface StartToolOptions {
  env: NodeJS.ProcessEnv;
  stdin: 'pipe' | 'ignore';
  stdout: 'pipe' | 'ignore';
  /** psql: lines the bot wrote ahead of the dump, so that errors name the dump's own line numbers. */
  scriptLineOffset?: number;
}

const KEPT_TAIL_LINES = 10;
const MAX_LINE = 2_000;

export function startTool(file: string, args: readonly string[], options: StartToolOptions): RunningTool {
  const child = spawn(file, args, { env: options.env, stdio: [options.stdin, options.stdout, 'pipe'], shell: false });
  const errors = new ErrorLines(options.scriptLineOffset ?? 0);
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => errors.add(chunk));
  let startError: Error | undefined;
  const exited = new Promise<ToolExit>((resolve) => {
    child.once('error', (error) => {
      // 'close' may not follow when the process could not be started at all.
      if (child.pid === undefined) {
        startError = error;
        resolve({ code: null, signal: null });
      }
    });
    child.once('close', (code, signal) => {
      errors.end();
      resolve({ code, signal });
    });
  });
  let exitedYet = false;
  void exited.then(() => {
    exitedYet = true;
  });
  return {
    child,
    exited,
    stop(signal = 'SIGTERM') {
      if (!exitedYet) {
        child.kill(signal);
        const escalation = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        escalation.unref();
        void exited.then(() => clearTimeout(escalation));
      }
      return exited;
    },
    failure(what, exit, scrub) {
      if (startError !== undefined) return scrub(`${what} could not be started: ${startError.message}`);
      const explanation = errors.explanation();
      if (explanation) return scrub(`${what} failed: ${explanation}`);
      if (exit.signal) return `${what} was stopped by ${exit.signal}`;
      return `${what} failed with exit code ${exit.code ?? 'unknown'}${errors.tail() ? `: ${scrub(errors.tail())}` : ''}`;
    },
  };
}

/** Keeps the first error line (and the server's detail after it) and the last few lines. */
class ErrorLines {
  private partial = '';
  private first: string | undefined;
  private detail: string | undefined;
  private lastLines: string[] = [];
  /** True when the first error was a lock that could not be taken in time (lock_timeout; --lock-wait-timeout is a statement timeout). */
  private lockTimeout = false;

  constructor(private readonly lineOffset: number) {}

  add(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = (lines.pop() ?? '').slice(-MAX_LINE);
    for (const line of lines) this.line(line);
  }

  end(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
  }

  explanation(): string | undefined {
    if (this.first === undefined) return undefined;
    return this.detail ? `${this.first} (${this.detail})` : this.first;
  }

  tail(): string {
    return this.lastLines.join(' ').slice(-500);
  }

  private line(raw: string): void {
    const line = raw.replace(/\s+/g, ' ').trim().slice(0, MAX_LINE);
    if (!line) return;
    this.lastLines.push(line);
    if (this.lastLines.length > KEPT_TAIL_LINES) this.lastLines.shift();
    if (this.first === undefined) {
      const explained = explainLine(line, this.lineOffset);
      if (explained) {
        this.first = explained;
        this.lockTimeout = /lock timeout|statement timeout|could not obtain lock/i.test(line);
      }
      return;
    }
    if (this.detail !== undefined) return;
    // pg_dump: "detail: Error message from server: FATAL: terminating connection …"
    const fromServer = /detail: Error message from server: (.*)$/.exec(line);
    if (fromServer?.[1]) this.detail = `server said: ${fromServer[1]}`;
    // pg_dump: "detail: Query was: LOCK TABLE recipe_manager.reviews IN ACCESS SHARE MODE" — after a
    // lock timeout another session holds it; after "permission denied" nobody does.
    const locking = /detail: Query was: LOCK TABLE (\S+)/.exec(line);
    if (locking?.[1]) this.detail = this.lockTimeout ? `while locking ${locking[1]}, which another session holds locked` : `while locking ${locking[1]}`;
  }
}

/**
 *   pg_dump: error: connection to server … failed: FATAL: database "x" does not exist
 *   psql:<stdin>:45: ERROR: relation "x" already exists
 *   psql: error: connection to server … failed: …
 */
function explainLine(line: string, lineOffset: number): string | undefined {
  const at = (reported: string | undefined): string => {
    const n = Number(reported) - lineOffset;
    return n >= 1 ? `at line ${n} of the dump` : 'before the dump';
  };
  const script = /^psql:[^:]*:(\d+): (ERROR|FATAL|PANIC): (.*)$/.exec(line);
  if (script) return `stopped ${at(script[1])}: ${script[2]}: ${script[3]}`;
  // psql's own errors in a script: a meta-command refused in restricted mode, a bad \ command.
  const meta = /^psql:[^:]*:(\d+): error: (.*)$/.exec(line);
  if (meta) {
    return /backslash commands are restricted/.test(meta[2] ?? '')
      ? `stopped ${at(meta[1])}: it holds a psql meta-command (a \\ command), which the bot never runs from a backup file`
      : `stopped ${at(meta[1])}: ${meta[2] ?? ''}`;
  }
  const tool = /^(?:pg_dump|psql|pg_restore): (?:error|fatal): (.*)$/i.exec(line);
  if (tool?.[1]) return tool[1];
  const bare = /^(ERROR|FATAL|PANIC): (.*)$/.exec(line);
  if (bare) return `${bare[1]}: ${bare[2]}`;
  return undefined;
}
