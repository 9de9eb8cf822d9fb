/**
 * The command table: each `/recipedb` sub-command pairs a handler (input, ops, result) with the
 * view that renders its result. Adding a command is one line here.
 */
import type { Handler, HandlerContext, CommandInfo } from '../handlers/handler.js';
import type { GatedResult } from '../handlers/gated.js';
import { assertApproversConfigured, attachApprovalMessage, requestApproval } from '../handlers/approval-engine.js';
import { approvalView } from './views/approval-view.js';
import { nothingToDoView } from './views/usage-view.js';
import { helpHandler } from '../handlers/help.js';
import { auditHandler } from '../handlers/audit.js';
import { killHandler } from '../handlers/kill.js';
import { scaleHandler } from '../handlers/scale.js';
import { restoreHandler } from '../handlers/restore.js';
import { statusHandler } from '../handlers/status.js';
import { logsHandler } from '../handlers/logs.js';
import { topHandler } from '../handlers/top.js';
import { queriesHandler } from '../handlers/queries.js';
import { activeHandler } from '../handlers/active.js';
import { connectionsHandler } from '../handlers/connections.js';
import { locksHandler } from '../handlers/locks.js';
import { indexesHandler } from '../handlers/indexes.js';
import { bloatHandler } from '../handlers/bloat.js';
import { sizesHandler } from '../handlers/sizes.js';
import { settingsHandler } from '../handlers/settings.js';
import { backupHandler } from '../handlers/backup.js';
import { backupsHandler } from '../handlers/backups.js';
import { backupImportHandler } from '../handlers/backup-import.js';
import type { CommandLine } from './command-line.js';
import type { Message } from './blocks.js';
import type { CommandAnswer } from './command-answer.js';
import { helpView } from './views/help-view.js';
import { incidentHandler } from '../handlers/incident.js';
import { incidentAnswer } from './incident-answer.js';
import { auditView } from './views/audit-view.js';
import { statusView } from './views/status-view.js';
import { logsView } from './views/logs-view.js';
import { topView } from './views/top-view.js';
import { queriesView } from './views/queries-view.js';
import { activeView } from './views/active-view.js';
import { connectionsView } from './views/connections-view.js';
import { locksView } from './views/locks-view.js';
import { indexesView } from './views/indexes-view.js';
import { bloatView } from './views/bloat-view.js';
import { sizesView } from './views/sizes-view.js';
import { settingsView } from './views/settings-view.js';
import { backupView } from './views/backup-view.js';
import { backupsView } from './views/backups-view.js';
import { eventsHandler } from '../handlers/events.js';
import { eventsView } from './views/events-view.js';
import { resizeHandler } from '../handlers/resize.js';
import { imageHandler } from '../handlers/image.js';
import { storageExpandHandler, storageHandler } from '../handlers/storage.js';
import { storageView } from './views/storage-view.js';
import { alertsHandler } from '../handlers/alerts.js';
import { alertsView } from './views/alerts-view.js';
import { usersHandler } from '../handlers/users.js';
import { usersView } from './views/users-view.js';
import { loginsHandler } from '../handlers/logins.js';
import { loginsView } from './views/logins-view.js';
import { userHandler } from '../handlers/user.js';
import { vacuumFullHandler, vacuumHandler } from '../handlers/vacuum.js';
import { analyzeHandler } from '../handlers/analyze.js';
import { reindexHandler } from '../handlers/reindex.js';
import { indexHandler } from '../handlers/index-change.js';
import { checkHandler } from '../handlers/check.js';
import { settingsResetHandler, settingsSetHandler } from '../handlers/settings-change.js';
import { maintenanceView } from './views/maintenance-view.js';
import { checkView } from './views/check-view.js';
import { growthHandler } from '../handlers/growth.js';
import { chartHandler } from '../handlers/chart.js';
import { growthView } from './views/growth-view.js';
import { chartAnswer } from './views/chart-view.js';
import { pitrBackupHandler, pitrHandler } from '../handlers/pitr.js';
import { pitrView } from './views/pitr-view.js';

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
  execute(line: CommandLine, ctx: HandlerContext): Promise<CommandAnswer>;
}

function parseArgs<Args>(handler: Pick<Handler<Args, unknown>, 'args' | 'name' | 'usage'>, line: CommandLine): Args {
  const parsed = handler.args.safeParse(line.args);
  if (!parsed.success) {
    throw new UsageError(`\`${handler.name}\` ${parsed.error.issues[0]?.message ?? 'has invalid arguments'}.`, handler.usage);
  }
  return parsed.data;
}

function command<Args, Result>(handler: Handler<Args, Result>, view: (result: Result) => Message, switches: string[] = []): BotCommand {
  return answeringCommand(handler, (result) => ({ message: view(result) }), switches);
}

/** A command whose answer does more than post one message (threads, edits, uploads). */
function answeringCommand<Args, Result>(
  handler: Handler<Args, Result>,
  answer: (result: Result, ctx: HandlerContext) => CommandAnswer,
  switches: string[] = [],
): BotCommand {
  return {
    info: { name: handler.name, usage: handler.usage, summary: handler.summary, gated: handler.gated ?? false, recordsOwnTimeline: handler.recordsOwnTimeline },
    switches: new Set(switches),
    async execute(line, ctx) {
      const result = await handler.run(parseArgs(handler, line), ctx);
      const answered = answer(result, ctx);
      if (handler.recordsOwnTimeline) return { ...answered, verdict: null };
      return handler.verdict ? { ...answered, verdict: handler.verdict(result) } : answered;
    },
  };
}

/** A destructive command: refused without approvers, planned read-only, then sent for approval. */
function gatedCommand<Args, Plan>(handler: Handler<Args, GatedResult<Plan>>, switches: string[] = []): BotCommand {
  return {
    info: { name: handler.name, usage: handler.usage, summary: handler.summary, gated: true },
    switches: new Set(switches),
    async execute(line, ctx) {
      const args = parseArgs(handler, line);
      assertApproversConfigured(ctx);
      const result = await handler.run(args, ctx);
      if (result.kind === 'nothing') return { message: nothingToDoView(result.message) };
      const request = await requestApproval(ctx, ctx.actor, result);
      return {
        message: approvalView(request, { approvers: ctx.config.approvers }),
        posted: (ts) => attachApprovalMessage(ctx, request.id, ts),
        // The request itself is the result, and it is recorded (approval.requested).
        verdict: null,
      };
    },
  };
}

/**
 * A command whose first word may name a sub-command of its own (`vacuum full …`, `settings set …`),
 * which may be gated while the command itself is not. Without that word, `main` runs.
 */
function withSubcommands(main: BotCommand, subcommands: Record<string, BotCommand>, summary: string): BotCommand {
  const all = [main, ...Object.values(subcommands)];
  // A command's own usage may already name its sub-commands (`backup · backup verify … · backup import …`).
  const usages = [...new Set(all.flatMap((c) => c.info.usage.split(' · ')))];
  return {
    info: { ...main.info, usage: usages.join(' · '), summary },
    switches: new Set(all.flatMap((c) => [...c.switches])),
    execute(line, ctx) {
      const [word, ...rest] = line.args.positional;
      const sub = word === undefined ? undefined : subcommands[word.toLowerCase()];
      if (!sub) return main.execute(line, ctx);
      const text = line.args.text.replace(/^\s*\S+\s*/, '');
      return sub.execute({ ...line, words: line.words.slice(1), args: { ...line.args, positional: rest, text } }, ctx);
    },
  };
}

export const COMMANDS: readonly BotCommand[] = [
  // In the order `help` lists them: look first, then act, then record.
  command(helpHandler, helpView),
  command(statusHandler, statusView),
  command(queriesHandler, queriesView),
  command(activeHandler, activeView),
  command(connectionsHandler, connectionsView),
  command(locksHandler, locksView),
  command(indexesHandler, indexesView, ['missing']),
  command(bloatHandler, bloatView),
  command(sizesHandler, sizesView),
  command(growthHandler, growthView),
  answeringCommand(chartHandler, chartAnswer),
  withSubcommands(
    command(settingsHandler, settingsView),
    { set: gatedCommand(settingsSetHandler), reset: gatedCommand(settingsResetHandler) },
    'memory, connection, checkpoint and autovacuum settings against rules of thumb; `set` and `reset` change one with ALTER SYSTEM and a reload (needs approval)',
  ),
  command(logsHandler, logsView, ['previous']),
  command(topHandler, topView),
  command(eventsHandler, eventsView),
  command(alertsHandler, alertsView),
  gatedCommand(killHandler, ['cancel']),
  gatedCommand(scaleHandler),
  gatedCommand(restoreHandler),
  // Maintenance (SPEC section 9): one at a time, lock_timeout with retries, progress and Cancel.
  command(analyzeHandler, maintenanceView),
  withSubcommands(
    command(vacuumHandler, maintenanceView),
    { full: gatedCommand(vacuumFullHandler) },
    'VACUUM (ANALYZE) the named tables or every table, one at a time; `vacuum full` rewrites named tables to give space back (needs approval; locks each table while it runs)',
  ),
  gatedCommand(reindexHandler, ['database']),
  gatedCommand(indexHandler, ['unique']),
  command(checkHandler, checkView, ['heap']),
  gatedCommand(resizeHandler),
  withSubcommands(
    command(storageHandler, storageView),
    { expand: gatedCommand(storageExpandHandler) },
    "the database's volume claim: capacity, requested size, storage class (expandable or not), database size against capacity; `storage expand <size>` grows it (needs approval)",
  ),
  gatedCommand(imageHandler),
  withSubcommands(
    command(backupHandler, backupView),
    { import: gatedCommand(backupImportHandler) },
    'a backup now (gzip of pg_dump --clean --if-exists, then retention); `verify` restores one into a scratch database to prove it; `import` accepts a file the bot did not write (needs approval)',
  ),
  command(backupsHandler, backupsView),
  withSubcommands(
    command(pitrHandler, pitrView),
    { backup: command(pitrBackupHandler, pitrView, ['full']) },
    'point-in-time recovery: the recoverable window, base backups and WAL archiving; `backup` takes a base backup (incremental unless --full)',
  ),
  command(usersHandler, usersView),
  command(loginsHandler, loginsView),
  gatedCommand(userHandler, ['read-only']),
  answeringCommand(incidentHandler, incidentAnswer),
  command(auditHandler, auditView),
];

export function findCommand(name: string): BotCommand | undefined {
  return COMMANDS.find((c) => c.info.name === name);
}
