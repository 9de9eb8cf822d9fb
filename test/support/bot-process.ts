/**
 * The bot as its own process (`node --import tsx src/main.ts`, what `npm start` runs), for what
 * only a process shows: signals, exit codes, and two replicas sharing one state database.
 *
 *   const bot = await startBotProcess({ slack, env: { DATABASE_URL, STATE_DATABASE_URL } });
 *   await bot.client.command('status');
 *   bot.kill('SIGTERM'); const { code } = await bot.exited;
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeSlack } from './fake-slack.js';
import { slackClient } from './slack-client.js';
import { TEST_BOT_TOKEN, TEST_SIGNING_SECRET } from './bot.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface BotProcess {
  pid: number;
  port: number;
  baseUrl: string;
  client: ReturnType<typeof slackClient>;
  /** Every JSON log line so far. */
  logs: LogLine[];
  /** Lines that were not JSON (a crash's stack, a configuration error). */
  stderr: string[];
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running; for afterEach. */
  stop(): Promise<void>;
}

export interface BotProcessOptions {
  slack: FakeSlack;
  env: Record<string, string | undefined>;
  startTimeoutMs?: number;
}

export async function startBotProcess(options: BotProcessOptions): Promise<BotProcess> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    PORT: '0',
    SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
    SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
    SLACK_API_URL: options.slack.apiUrl,
    BACKUP_SCHEDULE: 'off',
    ...options.env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  const waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      stderr.push(text);
      return;
    }
    logs.push(line);
    for (const w of [...waiters]) if (w.match(line)) w.resolve(line);
  });
  createInterface({ input: child.stderr }).on('line', (text) => stderr.push(text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  const waitForLog = (match: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> => {
    const found = logs.find(match);
    if (found) return Promise.resolve(found);
    return new Promise<LogLine>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (l: LogLine) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(l);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`bot process ${child.pid}: no such log line within ${timeoutMs} ms; last lines:\n${tail(logs, stderr)}`));
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then(() => {
        if (!waiters.has(waiter)) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        reject(new Error(`bot process ${child.pid} exited; last lines:\n${tail(logs, stderr)}`));
      });
    });
  };

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  let listening: LogLine;
  try {
    listening = await waitForLog((l) => l.msg === 'recipedb-ops is listening', options.startTimeoutMs ?? 50_000);
  } catch (error) {
    await stop();
    throw error;
  }
  const port = Number(listening.port);
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    pid: child.pid ?? 0,
    port,
    baseUrl,
    client: slackClient({ eventsUrl: `${baseUrl}/slack/events`, signingSecret: TEST_SIGNING_SECRET, fakeSlack: options.slack }),
    logs,
    stderr,
    waitForLog,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
    exited,
    stop,
  };
}

function tail(logs: LogLine[], stderr: string[]): string {
  return [...logs.slice(-8).map((l) => JSON.stringify(l)), ...stderr.slice(-8)].join('\n');
}
