/**
 * Runs one `/recipedb` line for an actor, the same way for Slack and for the console: parse,
 * record, run the handler, render. Every path ends in a Message; nothing throws to the caller.
 *
 *   const reply = await dispatchCommand('status', { userId: 'U1', channelId: 'C1' }, services, { progress });
 */
import type { Actor, Services } from '../context.js';
import { describeFailure } from '../ops/failure.js';
import { createScrubber } from '../redact.js';
import { parseCommandLine } from './command-line.js';
import { COMMANDS, UsageError, findCommand } from './commands.js';
import type { CommandAnswer } from './command-answer.js';
import { failureView, refusalView, usageView } from './views/usage-view.js';
import { Refusal } from '../handlers/refusal.js';
import { plainSlackText } from './slack-text.js';
import type { ProgressReporter } from '../handlers/handler.js';

export type Outcome = 'ok' | 'usage' | 'refused' | 'failed';

export interface Reply extends CommandAnswer {
  command: string;
  outcome: Outcome;
  /** Usage mistakes are shown only to the person who typed them. */
  ephemeral: boolean;
}

export interface DispatchOptions {
  progress?: ProgressReporter;
}

/** Parses without running: lets the Slack listener answer mistakes in the ack itself. */
export function checkCommandLine(text: string): { ok: true; name: string } | { ok: false; reply: Reply } {
  const line = parseCommandLine(text || 'help');
  if (!findCommand(line.name)) {
    return { ok: false, reply: { command: line.name, outcome: 'usage', ephemeral: true, message: usageView(`Unknown command \`${line.name}\`.`) } };
  }
  return { ok: true, name: line.name };
}

export async function dispatchCommand(text: string, actor: Actor, services: Services, options: DispatchOptions = {}): Promise<Reply> {
  const reply = await run(text, actor, services, options);
  services.metrics.commands.inc({ command: reply.command, outcome: reply.outcome });
  return reply;
}

async function run(text: string, actor: Actor, services: Services, options: DispatchOptions): Promise<Reply> {
  const checked = checkCommandLine(text);
  if (!checked.ok) return checked.reply;
  const cmd = findCommand(checked.name);
  if (!cmd) throw new Error('unreachable: checked command vanished');
  const line = parseCommandLine(text || 'help', cmd.switches);
  const summary = `/recipedb ${text.trim() || 'help'}`;
  const scrub = createScrubber(services.config.secrets);
  try {
    const recorded = await services.recorder.record({ actor: actor.userId, channel: actor.channelId, kind: 'command', action: cmd.info.name, summary, timeline: !cmd.info.recordsOwnTimeline }).catch((error: unknown) => {
      // A read-only answer is worth more than its audit line when the state database is down;
      // gated commands cannot proceed anyway, since their requests live in that database.
      if (cmd.info.gated) throw error;
      services.log.error({ err: error, command: cmd.info.name }, 'could not record the command; answering anyway');
      return null;
    });
    const answer = await cmd.execute(line, {
      ...services,
      actor,
      commands: COMMANDS.map((c) => c.info),
      progress: options.progress ?? (async () => undefined),
      commandRecordId: recorded?.audit?.id,
    });
    const verdict = answer.verdict === undefined ? `${cmd.info.name}: ${plainSlackText(answer.message.text)}` : answer.verdict;
    if (verdict !== null) await recordResult(services, actor, cmd.info.name, verdict);
    return { command: cmd.info.name, outcome: 'ok', ephemeral: false, ...answer };
  } catch (error) {
    if (error instanceof Refusal) {
      if (!cmd.info.recordsOwnTimeline) await recordResult(services, actor, cmd.info.name, `${cmd.info.name}: refused — ${error.message}`);
      return { command: cmd.info.name, outcome: 'refused', ephemeral: false, message: refusalView(error.message) };
    }
    if (error instanceof UsageError) {
      return { command: cmd.info.name, outcome: 'usage', ephemeral: true, message: usageView(error.message, error.usage) };
    }
    const reason = scrub(describeFailure(error));
    services.log.error({ err: error, command: cmd.info.name, actor }, 'command failed');
    await services.recorder
      .record({ actor: actor.userId, channel: actor.channelId, kind: 'command.failed', action: cmd.info.name, summary: `${summary} failed: ${reason}` })
      .catch(() => undefined);
    return { command: cmd.info.name, outcome: 'failed', ephemeral: false, message: failureView(cmd.info.name, reason) };
  }
}

/**
 * What the command answered, in one line, for the audit log and the open incident's timeline (so
 * the postmortem shows what was seen when). The answer goes out even when this cannot be written.
 */
async function recordResult(services: Services, actor: Actor, command: string, verdict: string): Promise<void> {
  await services.recorder
    .record({ actor: actor.userId, channel: actor.channelId, kind: 'command.result', action: command, summary: verdict })
    .catch((error: unknown) => services.log.error({ err: error, command }, 'could not record the result of a command'));
}
