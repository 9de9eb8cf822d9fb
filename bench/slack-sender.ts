/**
 * Plays Slack's side of the load from a process of its own: sending, signing and timing requests
 * on the bot's event loop would slow the bot down and delay reading its answers, so the figures
 * would blame the bot for the load generator's own work.
 *
 *   const sender = await startSlackSender();
 *   const sent = await sender.send({ eventsUrl, signingSecret, channels, concurrency: 20, responseUrlBase });
 *   await sender.stop();
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface SendJob {
  eventsUrl: string;
  signingSecret: string;
  /** One `/recipedb status` per entry, sent to that channel. */
  channels: string[];
  concurrency: number;
  /** Base of the response_url in each command (the fake Slack's), never Slack's real one. */
  responseUrlBase: string;
}

export interface SentCommand {
  channel: string;
  /** performance.timeOrigin + performance.now() at send: comparable across processes. */
  sentAt: number;
  ackMs: number;
  status: number;
}

export type SenderRequest = { id: number; job: SendJob };
export type SenderReply = { id: number; sent: SentCommand[] } | { id: number; error: string };

export interface SlackSender {
  send(job: SendJob): Promise<SentCommand[]>;
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./slack-sender-process.ts', import.meta.url));
const JOB_TIMEOUT_MS = 120_000;

export function startSlackSender(): SlackSender {
  // Same flags as this process: under tsx they carry its loader, so the child runs TypeScript too.
  const child: ChildProcess = fork(CHILD, [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pending = new Map<number, { resolve(sent: SentCommand[]): void; reject(error: Error): void }>();
  let nextId = 0;

  child.on('message', (message: SenderReply) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if ('error' in message) waiter.reject(new Error(`the Slack sender failed: ${message.error}`));
    else waiter.resolve(message.sent);
  });
  child.once('exit', (code, signal) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`the Slack sender exited (${signal ?? code})`));
    pending.clear();
  });

  return {
    send(job) {
      const id = ++nextId;
      return new Promise<SentCommand[]>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`the Slack sender did not finish ${job.channels.length} commands within ${JOB_TIMEOUT_MS / 1000} s`));
        }, JOB_TIMEOUT_MS);
        pending.set(id, {
          resolve: (sent) => {
            clearTimeout(timer);
            resolve(sent);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        const request: SenderRequest = { id, job };
        child.send(request);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.disconnect(); // the child exits when its channel closes
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
