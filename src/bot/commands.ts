/**
 * The command table: each `/recipedb` sub-command pairs a handler (input, ops, result) with the
 * view that renders its result. Adding a command is one line here.
 */
import type { Handler, HandlerContext, CommandInfo } from '../handlers/handler.js';
import { helpHandler } from '../handlers/help.js';
import { statusHandler } from '../handlers/status.js';
import type { CommandLine } from './command-line.js';
import type { Message } from './blocks.js';
import { helpView } from './views/help-view.js';
import { statusView } from './views/status-view.js';

export class UsageError extends Error {
  override name = 'UsageError';
  constructor(message: string, readonly usage: string) {
    super(message);
  }
}

export interface BotCommand {
  info: CommandInfo;
  /** Flags that never take a value (`--cancel`), so the next word stays positional. */
  switches: ReadonlySet<string>;
  execute(line: CommandLine, ctx: HandlerContext): Promise<Message>;
}

function command<Args, Result>(
  handler: Handler<Args, Result>,
  view: (result: Result) => Message,
  switches: string[] = [],
): BotCommand {
  return {
    info: { name: handler.name, usage: handler.usage, summary: handler.summary, gated: handler.gated ?? false },
    switches: new Set(switches),
    async execute(line, ctx) {
      const parsed = handler.args.safeParse(line.args);
      if (!parsed.success) {
        throw new UsageError(`\`${handler.name}\` ${parsed.error.issues[0]?.message ?? 'has invalid arguments'}.`, handler.usage);
      }
      return view(await handler.run(parsed.data, ctx));
    },
  };
}

export const COMMANDS: readonly BotCommand[] = [
  command(helpHandler, helpView),
  command(statusHandler, statusView),
];

export function findCommand(name: string): BotCommand | undefined {
  return COMMANDS.find((c) => c.info.name === name);
}
