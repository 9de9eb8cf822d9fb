/**
 * `vacuum [<table>…]` and `analyze [<table>…]` (the runbook's weekly "Update statistics" and "Vacuum
 * tables"): no approval needed, since neither blocks reads or writes. Without names the whole
 * database goes one table at a time, so the progress shows which table and how far, and a Cancel
 * stops between two tables as well as within one.
 *
 *   await runTableMaintenance('vacuum', [{ schema: null, name: 'recipes' }], ctx) // { report: { steps: [VACUUM (ANALYZE) recipe_manager.recipes — ok] } }
 */
import { z } from 'zod';
import { listTables, type Relation, type RelationName } from '../ops/postgres/maintenance-targets.js';
import { quoteIdent } from '../ops/postgres/quote-ident.js';
import type { HandlerContext } from './handler.js';
import { runMaintenanceStatements, type MaintenanceStep } from './maintenance-procedure.js';
import type { ProcedureReport } from './procedure-runner.js';
import { mayMaintain, parseRelationNames, qualifiedName, resolveRelation } from './relation-args.js';

export type TableMaintenanceKind = 'vacuum' | 'analyze';

export interface MaintenanceResult {
  measuredAt: Date;
  /** "VACUUM (ANALYZE)", "ANALYZE", "integrity check"… */
  title: string;
  report: ProcedureReport;
  /** Tables left out (not the bot's role's to maintain), when the whole database was asked for. */
  skipped: string[];
}

export const tableNamesArgs = z
  .object({
    positional: z.array(z.string()),
    flags: z.record(z.string(), z.unknown()).refine((f) => Object.keys(f).length === 0, 'takes no options, only table names'),
  })
  .transform((raw, ctx) => {
    const names = parseRelationNames(raw.positional, (message) => ctx.addIssue({ code: 'custom', message }));
    return names === null ? z.NEVER : { names };
  });

const STATEMENT: Record<TableMaintenanceKind, string> = { vacuum: 'VACUUM (ANALYZE)', analyze: 'ANALYZE' };

export async function runTableMaintenance(kind: TableMaintenanceKind, names: readonly RelationName[], ctx: HandlerContext): Promise<MaintenanceResult> {
  const skipped: string[] = [];
  let tables: Relation[];
  if (names.length) {
    tables = [];
    for (const name of names) tables.push(await resolveRelation(ctx.db, name, { want: 'table', may: kind }));
  } else {
    tables = [];
    for (const table of await listTables(ctx.db, { partitioned: kind === 'analyze' })) {
      if (await mayMaintain(ctx.db, table, kind)) tables.push(table);
      else skipped.push(qualifiedName(table));
    }
  }
  const statement = STATEMENT[kind];
  const steps: MaintenanceStep[] = tables.map((table) => {
    const relation = `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
    return {
      title: `${statement} ${qualifiedName(table)}`,
      sql: `${statement} ${relation}`,
      relation,
    };
  });
  const what = `${statement} of ${names.length ? '' : 'the whole database, '}${tables.length} ${tables.length === 1 ? 'table' : 'tables'}`;
  const report = await runMaintenanceStatements(
    ctx,
    { operation: kind, summary: what, requester: ctx.actor.userId, channel: ctx.actor.channelId, by: ctx.actor.userId },
    steps,
    what,
  );
  await ctx.recorder.record({
    actor: ctx.actor.userId,
    channel: ctx.actor.channelId,
    kind: 'maintenance',
    action: kind,
    summary: report.summary,
    details: { steps: report.steps, skipped },
    // The command's verdict line is the timeline's one entry for this result; this one keeps the details in the audit log.
    timeline: false,
  });
  return { measuredAt: ctx.now(), title: statement, report, skipped };
}
