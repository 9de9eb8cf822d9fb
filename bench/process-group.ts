/**
 * A child process in a process group of its own, killed with everything it started (tsx's child,
 * pg_dump, gzip…) when it is stopped, and also when the benchmark exits or is interrupted before
 * stopping it: run.ts answers Ctrl-C by cleaning up and calling process.exit, which would otherwise
 * leave such children running.
 *
 *   const group = spawnGroup('bash', ['-c', SCRIPT], { env, stdout: 'ignore' });
 *   const exit = await group.exited; // { code, signal, stderrTail }
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import os from 'node:os';

export interface GroupExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the process printed on stderr (when stderr was piped). */
  stderrTail: string;
}

export interface ProcessGroup {
  child: ChildProcess;
  pid: number;
  exited: Promise<GroupExit>;
  /** SIGTERM to the whole group, SIGKILL after graceMs; resolves once the leader has exited. */
  stop(graceMs?: number): Promise<GroupExit>;
}

export interface SpawnGroupOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Default: stdin ignored, stdout ignored, stderr piped (kept as a short tail for error messages). */
  stdio?: StdioOptions;
}

const TAIL_CHARS = 4_000;

export function spawnGroup(file: string, args: readonly string[], options: SpawnGroupOptions): ProcessGroup {
  const child = spawn(file, args, { env: options.env, cwd: options.cwd, stdio: options.stdio ?? ['ignore', 'ignore', 'pipe'], detached: true });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${file}`);

  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-TAIL_CHARS);
  });

  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  const killNow = (): void => killGroup('SIGKILL');
  const onSignal = (signal: NodeJS.Signals): void => {
    killNow();
    // A listener of ours must not swallow Ctrl-C where nobody else handles it (run.ts does).
    if (process.listenerCount(signal) === 1) process.exit(128 + (os.constants.signals[signal] ?? 0));
  };
  process.on('exit', killNow);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const release = (): void => {
    process.off('exit', killNow);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };

  const exited = new Promise<GroupExit>((resolve) => {
    child.once('error', (error) => {
      release();
      resolve({ code: null, signal: null, stderrTail: error.message });
    });
    child.once('close', (code, signal) => {
      // The leader is gone; anything it left behind in its group goes with it.
      killGroup('SIGKILL');
      release();
      resolve({ code, signal, stderrTail: tail.trim() });
    });
  });

  return {
    child,
    pid,
    exited,
    async stop(graceMs = 5_000) {
      if (child.exitCode === null && child.signalCode === null) {
        killGroup('SIGTERM');
        const timer = setTimeout(() => killGroup('SIGKILL'), graceMs);
        const exit = await exited;
        clearTimeout(timer);
        return exit;
      }
      return exited;
    },
  };
}
