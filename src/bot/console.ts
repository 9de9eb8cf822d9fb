/**
 * The local console: the same commands as Slack, typed in a terminal (or piped), answered with the
 * same Block Kit rendered as text. `/as <user-id>` changes who is typing; a number picks a button of
 * the last answer, so the approval flow can be tried alone.
 *
 *   await runConsole({ input: process.stdin, output: process.stdout, services });
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import type { Services } from '../context.js';
import { renderBlocks, type Choice } from './blocks-to-text.js';
import type { Message } from './blocks.js';
import { dispatchCommand } from './dispatch.js';
import { decide } from '../handlers/approval-engine.js';
import { cancelRunningMaintenance } from '../handlers/maintenance-cancel.js';
import { GATED_ACTIONS } from '../handlers/gated-actions.js';
import { appRecoveryView } from './views/app-recovery-view.js';
import { approvalView } from './views/approval-view.js';
import { APPROVE_ACTION, REJECT_ACTION } from './slack-surface.js';
import { refusalView } from './views/usage-view.js';
import { cancelAnswer } from './views/maintenance-view.js';
import { incidentEventView } from './views/incident-view.js';

export const CONSOLE_CHANNEL = 'C_CONSOLE';
export const CONSOLE_DEFAULT_USER = 'U_LOCAL';

export interface ConsoleOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  services: Services;
  userId?: string;
  /** Where pictures (charts) are written; default .local/charts (git-ignored). */
  filesDir?: string;
}

export async function runConsole(options: ConsoleOptions): Promise<void> {
  const { input, output, services } = options;
  const interactive = Boolean((input as NodeJS.ReadStream).isTTY);
  const color = Boolean((output as NodeJS.WriteStream).isTTY);
  let userId = options.userId ?? CONSOLE_DEFAULT_USER;
  let choices: Choice[] = [];
  let postedCount = 0;
  services.recorder.addSink(async ({ event }) => {
    if (event) print(`  ↳ incident timeline: ${renderBlocks(incidentEventView(event)).text}`);
  });
  const print = (text: string) => output.write(`${text}\n`);
  // A request that expired (or whose action was interrupted) while the console waited.
  const stopListening = services.notices.listen(async (notice) => {
    if (notice.kind === 'approval-changed') print(`… ${renderBlocks(approvalView(notice.request, { approvers: services.config.approvers })).text.split('\n')[0]} — ${notice.request.status}`);
    else if (notice.kind === 'app-scaled-back') print(`… ${renderBlocks(appRecoveryView(notice.recovery)).text}`);
  });
  const show = (message: Message) => {
    const rendered = renderBlocks(message, { color, width: Math.min((output as NodeJS.WriteStream).columns ?? 100, 120) });
    if (rendered.choices.length) choices = rendered.choices;
    print(`${rendered.text}\n`);
  };

  const rl = readline.createInterface({ input, output: interactive ? output : undefined, terminal: interactive });
  const prompt = () => {
    if (!interactive) return;
    rl.setPrompt(`recipedb (${userId})> `);
    rl.prompt();
  };
  if (interactive) print('recipedb-ops local console — type `help`, `/as <user-id>` to act as someone else, Ctrl-D to quit.');

  // Lines are handled one at a time, in order; while one runs, the next wait. The console has no
  // Cancel button: `cancel` (or Ctrl-C) typed while an answer is awaited cancels the running
  // maintenance operation at once, as the button does on Slack, instead of waiting its turn.
  const waiting: string[] = [];
  let busy = false;
  let ended = false;
  let settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  const finished = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const cancelRunning = async () => {
    print(`… ${cancelAnswer(await cancelRunningMaintenance(services, userId), 'The outcome follows.')}`);
  };
  const pump = async () => {
    if (busy) return;
    busy = true;
    try {
      for (let line = waiting.shift(); line !== undefined; line = waiting.shift()) {
        if (line === 'exit' || line === 'quit' || line === '\\q') {
          waiting.length = 0;
          rl.close();
          break;
        }
        if (line && !line.startsWith('#')) await handleLine(line);
        prompt();
      }
    } catch (error) {
      settle?.reject(error);
    } finally {
      busy = false;
    }
    if (ended) settle?.resolve();
  };
  rl.on('line', (raw) => {
    const line = raw.trim();
    if (busy && line === 'cancel') {
      void cancelRunning().catch((error: unknown) => print(`Could not cancel: ${error instanceof Error ? error.message : String(error)}`));
      return;
    }
    waiting.push(line);
    void pump();
  });
  rl.on('close', () => {
    ended = true;
    if (!busy) settle?.resolve();
  });
  if (interactive) {
    rl.on('SIGINT', () => {
      if (!busy) rl.close();
      else void cancelRunning().catch((error: unknown) => print(`Could not cancel: ${error instanceof Error ? error.message : String(error)}`));
    });
  }
  prompt();
  await finished;
  rl.close();
  stopListening();

  /** A numbered button, as a click on Slack would be: same engine, same rules. */
  async function pick(choice: Choice): Promise<Message> {
    const decision = choice.actionId === APPROVE_ACTION ? 'approve' : choice.actionId === REJECT_ACTION ? 'reject' : undefined;
    if (!decision) return refusalView(`The console cannot press "${choice.label}".`);
    const result = await decide(services, GATED_ACTIONS, { id: choice.value, userId, decision }, async (_request, update) => {
      if (update?.progress) print(`… ${update.progress}`);
    });
    if (result.kind !== 'decided') return refusalView(`(only you see this) ${result.reason}`);
    return approvalView(result.request, { approvers: services.config.approvers, unrecordedOutcome: result.unrecordedOutcome });
  }

  async function handleLine(line: string): Promise<void> {
    const as = /^\/as\s+(\S+)$/.exec(line);
    if (as) {
      userId = as[1] as string;
      print(`Now acting as ${userId}.\n`);
      return;
    }
    if (line === 'cancel') {
      await cancelRunning();
      return;
    }
    if (/^\d+$/.test(line)) {
      const choice = choices.find((c) => c.number === Number(line));
      if (!choice) {
        print(`There is no choice ${line} in the last answer.\n`);
        return;
      }
      show(await pick(choice));
      return;
    }
    const text = line.replace(/^\/recipedb\b\s*/, '');
    const reply = await dispatchCommand(text, { userId, channelId: CONSOLE_CHANNEL }, services, {
      progress: async (progressText) => {
        print(`… ${progressText}`);
      },
    });
    show(reply.message);
    // The console has no threads or message edits: it remembers a local ts so incidents and
    // approvals behave as on Slack, and mentions what Slack would have shown elsewhere.
    await reply.posted?.(`console.${++postedCount}`);
    if (reply.upload) print(`(On Slack, ${reply.upload.filename} is attached here for the postmortem.)\n`);
    if (reply.image) {
      // The terminal cannot show the picture that Slack would: it goes to a file, named here.
      const dir = path.resolve(options.filesDir ?? path.join('.local', 'charts'));
      const file = path.join(dir, reply.image.filename);
      try {
        await mkdir(dir, { recursive: true });
        await writeFile(file, reply.image.png);
        print(`Chart written to ${file}\n`);
      } catch (error) {
        print(`The chart could not be written to ${file}: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
  }
}
