/**
 * The real bot as it is deployed (compiled by `npm run build`, run as `node dist/main.js`, as the
 * Dockerfile does), in a process of its own so that its memory can be measured alone: Slack HTTP
 * mode against the bench's fake Slack, on a free port. tsx, which `npm start` uses for
 * convenience, keeps a compiler and a loader thread in memory that a deployment does not carry.
 *
 *   const bot = await startBotProcess({ databaseUrl, stateDatabaseUrl, backupDir, logFile, slack });
 *   await bot.client.command('backup', { channelId: 'C_BENCH' });
 *   await readMemory(bot.pid); await bot.stop();
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FakeSlack } from '../test/support/fake-slack.js';
import { slackClient } from '../test/support/slack-client.js';
import { withoutLibpqVariables } from './psql-checks.js';
import { spawnGroup } from './process-group.js';
import { freePort } from '../test/support/free-port.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
const MAIN = 'dist/main.js';
const START_TIMEOUT_MS = 60_000;

export interface BotProcessOptions {
  databaseUrl: string;
  stateDatabaseUrl: string;
  backupDir: string;
  /** The bot's stdout and stderr. */
  logFile: string;
  slack: FakeSlack;
}

export interface BotProcess {
  /** The node process running dist/main.js. */
  pid: number;
  port: number;
  client: ReturnType<typeof slackClient>;
  logTail(lines?: number): Promise<string>;
  stop(): Promise<void>;
}

let built: Promise<void> | undefined;

/** `npm run build` once per bench run. */
function buildOnce(): Promise<void> {
  built ??= new Promise((resolve, reject) => {
    execFile(process.execPath, [TSC, '-p', 'tsconfig.build.json'], { cwd: ROOT }, (error, stdout) => {
      if (error) reject(new Error(`could not build the bot: ${stdout || error.message}`));
      else resolve();
    });
  });
  return built;
}

export async function startBotProcess(o: BotProcessOptions): Promise<BotProcess> {
  await buildOnce();
  const port = await freePort();
  const signingSecret = randomBytes(16).toString('hex');
  const env: NodeJS.ProcessEnv = {
    // Only what the bot needs: the operator's own SLACK_* or DATABASE_URL must not leak in.
    ...pick(withoutLibpqVariables(), ['PATH', 'HOME', 'LANG', 'TMPDIR']),
    SLACK_BOT_TOKEN: `xoxb-bench-${randomBytes(8).toString('hex')}`,
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: o.slack.apiUrl,
    PORT: String(port),
    DATABASE_URL: o.databaseUrl,
    STATE_DATABASE_URL: o.stateDatabaseUrl,
    BACKUP_DIR: o.backupDir,
    BACKUP_SCHEDULE: 'off',
    LOG_LEVEL: 'warn',
  };
  const log = await open(o.logFile, 'a');
  const group = (() => {
    try {
      return spawnGroup(process.execPath, [MAIN], { env, cwd: ROOT, stdio: ['ignore', log.fd, log.fd] });
    } finally {
      // The child has its own copy of the descriptor.
      void log.close();
    }
  })();
  const logTail = async (lines = 20): Promise<string> => {
    const text = await readFile(o.logFile, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  };
  const stop = async (): Promise<void> => {
    await group.stop();
  };

  try {
    await waitForHealth(port, group.exited, logTail);
    return {
      pid: group.pid,
      port,
      client: slackClient({ eventsUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret, fakeSlack: o.slack }),
      logTail,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForHealth(port: number, exited: Promise<unknown>, logTail: () => Promise<string>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (gone) throw new Error(`the bot process exited during start-up:\n${await logTail()}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the bot process did not answer /healthz within ${START_TIMEOUT_MS / 1000} s:\n${await logTail()}`);
}

function pick(env: NodeJS.ProcessEnv, names: readonly string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(names.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name]]])));
}
