/**
 * `reindex <index|table>…` · `reindex --database`: the runbook's monthly REINDEX, gated, and
 * CONCURRENTLY (reads and writes go on) unless the plan says why not: PostgreSQL cannot rebuild an
 * exclusion constraint's index concurrently, so that one is rebuilt plainly, and the request says
 * so and what waits. `--database` goes one table at a time. A concurrent rebuild that fails or is
 * cancelled leaves no invalid `_ccnew` index behind.
 */
import { z } from 'zod';
import { formatBytes } from '../format.js';
import { listTables, relationTotalBytes, tableIndexes, type Relation } from '../ops/postgres/maintenance-targets.js';
import { quoteIdent } from '../ops/postgres/quote-ident.js';
import { planned, type ActionOutcome, type GatedAction, type GatedResult } from './gated.js';
import { defineHandler, type HandlerContext } from './handler.js';
import { LOCK_EFFECT, lockPolicyLine } from './maintenance-locks.js';
import { runApprovedMaintenance, type MaintenanceStep } from './maintenance-procedure.js';
import { mayMaintain, parseRelationNames, qualifiedName, resolveRelation } from './relation-args.js';
import type { RelationName } from '../ops/postgres/maintenance-targets.js';

const reindexTarget = z.object({
  kind: z.enum(['index', 'table']),
  oid: z.number().int().positive(),
  /** The table (itself, for a table): a failed concurrent rebuild's leftovers are found on it. */
  tableOid: z.number().int().positive(),
  schema: z.string().min(1),
  name: z.string().min(1),
  concurrently: z.boolean(),
  bytes: z.number().min(0),
});
type ReindexTarget = z.infer<typeof reindexTarget>;

const reindexPlan = z.object({ targets: z.array(reindexTarget).min(1).max(10_000) });
export type ReindexPlan = z.infer<typeof reindexPlan>;

type ReindexArgs = { database: true } | { database: false; names: RelationName[] };

const reindexArgs = z
  .object({ positional: z.array(z.string()), flags: z.record(z.string(), z.union([z.string(), z.literal(true)])) })
  .transform((raw, ctx): ReindexArgs => {
    const unknown = Object.keys(raw.flags).find((f) => f !== 'database');
    if (unknown) {
      ctx.addIssue({ code: 'custom', message: `has no option --${unknown} (only --database)` });
      return z.NEVER;
    }
    if (raw.flags.database !== undefined) {
      if (raw.flags.database !== true || raw.positional.length) {
        ctx.addIssue({ code: 'custom', message: 'takes index or table names, or --database, not both' });
        return z.NEVER;
      }
      return { database: true };
    }
    if (raw.positional.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'needs the indexes or tables to rebuild, or --database for all of them' });
      return z.NEVER;
    }
    const names = parseRelationNames(raw.positional, (message) => ctx.addIssue({ code: 'custom', message }));
    return names === null ? z.NEVER : { database: false, names };
  });

const EXCLUSION_REASON = 'not CONCURRENTLY: PostgreSQL cannot rebuild an exclusion constraint\'s index concurrently';

export const reindexHandler = defineHandler({
  name: 'reindex',
  usage: 'reindex <index|table>… · reindex --database',
  summary: 'rebuild indexes CONCURRENTLY (reads and writes go on); a corrupt or bloated index comes back clean',
  gated: true,
  args: reindexArgs,
  async run(args, ctx): Promise<GatedResult<ReindexPlan>> {
    const targets: ReindexTarget[] = [];
    const leftOut: string[] = [];
    if (args.database) {
      for (const table of await listTables(ctx.db, { partitioned: false })) {
        if (table.indexBytes === 0) continue;
        if (await mayMaintain(ctx.db, table, 'reindex')) targets.push(...(await tableTargets(ctx, table)));
        else leftOut.push(qualifiedName(table));
      }
      if (!targets.length) return { kind: 'nothing', message: 'No table in this database has indexes the bot\'s role may rebuild; nothing to do.' };
    } else {
      for (const name of args.names) {
        const relation = await resolveRelation(ctx.db, name, { want: 'table or index', may: 'reindex' });
        const more = relation.index ? [indexTarget(relation)] : await tableTargets(ctx, relation);
        if (!more.length) return { kind: 'nothing', message: `\`${qualifiedName(relation)}\` has no indexes; nothing to rebuild.` };
        for (const target of more) if (!targets.some((t) => t.oid === target.oid)) targets.push(target);
      }
    }
    const lines = targets.map(
      (t) => `${statementOf(t).title} — ${formatBytes(t.bytes)}${t.concurrently ? '' : ` (${EXCLUSION_REASON})`}`,
    );
    const largest = Math.max(...targets.map((t) => t.bytes));
    const total = targets.reduce((sum, t) => sum + t.bytes, 0);
    lines.push(`lock${targets.some((t) => !t.concurrently) ? ' (CONCURRENTLY)' : ''}: ${LOCK_EFFECT.concurrent}`);
    if (targets.some((t) => !t.concurrently)) lines.push(`lock (the plain REINDEX above): ${LOCK_EFFECT.reindexPlain}`);
    lines.push(`disk: up to ${formatBytes(largest)} more at once (each new index is built beside the old one, which is dropped at the end); ${formatBytes(total)} rebuilt in all`);
    if (leftOut.length) lines.push(`left out (not owned by the bot's role): ${leftOut.slice(0, 10).join(', ')}${leftOut.length > 10 ? ` and ${leftOut.length - 10} more` : ''}`);
    lines.push(lockPolicyLine(ctx.config));
    const what = args.database ? `every index of the database (${targets.length} statements, one table at a time)` : targets.map((t) => `${t.schema}.${t.name}`).join(', ');
    return planned('reindex', `rebuild ${what}`, lines, { targets });
  },
});

function indexTarget(index: Relation): ReindexTarget {
  return {
    kind: 'index',
    oid: index.oid,
    tableOid: index.index?.tableOid ?? index.oid,
    schema: index.schema,
    name: index.name,
    concurrently: !index.index?.exclusion,
    bytes: index.bytes,
  };
}

/** The table, concurrently; its exclusion constraints' indexes, which REINDEX TABLE CONCURRENTLY skips, plainly. */
async function tableTargets(ctx: HandlerContext, table: Relation): Promise<ReindexTarget[]> {
  const indexes = await tableIndexes(ctx.db, table.oid);
  if (!indexes.length) return [];
  const concurrent = indexes.filter((i) => !i.index?.exclusion);
  const targets: ReindexTarget[] = [];
  if (concurrent.length) {
    targets.push({
      kind: 'table',
      oid: table.oid,
      tableOid: table.oid,
      schema: table.schema,
      name: table.name,
      concurrently: true,
      bytes: concurrent.reduce((sum, i) => sum + i.bytes, 0),
    });
  }
  targets.push(...indexes.filter((i) => i.index?.exclusion).map(indexTarget));
  return targets;
}

function statementOf(t: ReindexTarget): MaintenanceStep {
  const relation = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
  const verb = `REINDEX ${t.kind === 'index' ? 'INDEX' : 'TABLE'}${t.concurrently ? ' CONCURRENTLY' : ''}`;
  return {
    title: `${verb} ${t.schema}.${t.name}`,
    sql: `${verb} ${relation}`,
    relation,
    buildsIndexOn: t.concurrently ? t.tableOid : undefined,
  };
}

export const reindexAction: GatedAction<ReindexPlan> = {
  action: 'reindex',
  plan: reindexPlan,
  async execute(plan, ctx): Promise<ActionOutcome> {
    const steps = plan.targets.map((t): MaintenanceStep => ({
      ...statementOf(t),
      after: async () => {
        // For a table, its indexes: what was rebuilt.
        const now = t.kind === 'index' ? await relationTotalBytes(ctx.db, t.oid) : (await tableIndexes(ctx.db, t.oid)).filter((i) => !i.index?.exclusion).reduce((sum, i) => sum + i.bytes, 0);
        return now === null ? undefined : `${formatBytes(t.bytes)} → ${formatBytes(now)}`;
      },
    }));
    return runApprovedMaintenance(ctx, 'reindex', `REINDEX of ${steps.length} ${steps.length === 1 ? 'target' : 'targets'}`, steps);
  },
};
