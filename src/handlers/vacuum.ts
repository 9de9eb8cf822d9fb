/**
 * `vacuum [<table>…]`: VACUUM (ANALYZE), no approval (table-maintenance.ts).
 * `vacuum full <table>…`: the runbook's monthly VACUUM FULL, gated: it rewrites each table under
 * an ACCESS EXCLUSIVE lock (an outage of that table while it runs) and needs its size again in
 * free disk. Without table names it is refused: on the whole database it would be an outage of
 * every table.
 */
import { z } from 'zod';
import { formatBytes } from '../format.js';
import { rowEstimate } from './row-estimate.js';
import { findRelationByOid, relationTotalBytes } from '../ops/postgres/maintenance-targets.js';
import { quoteIdent } from '../ops/postgres/quote-ident.js';
import { planned, type ActionOutcome, type GatedAction, type GatedResult } from './gated.js';
import { defineHandler } from './handler.js';
import { LOCK_EFFECT, lockPolicyLine } from './maintenance-locks.js';
import { runApprovedMaintenance, type MaintenanceStep } from './maintenance-procedure.js';
import { Refusal } from './refusal.js';
import { MAX_NAMES, qualifiedName, resolveRelation } from './relation-args.js';
import { runTableMaintenance, tableNamesArgs, type MaintenanceResult } from './table-maintenance.js';

export const vacuumHandler = defineHandler({
  name: 'vacuum',
  usage: 'vacuum [<table>…]',
  summary: 'VACUUM (ANALYZE) the named tables, or every table one at a time, with progress and a Cancel button',
  args: tableNamesArgs,
  run: ({ names }, ctx): Promise<MaintenanceResult> => runTableMaintenance('vacuum', names, ctx),
});

const tableRef = z.object({ oid: z.number().int().positive(), schema: z.string().min(1), table: z.string().min(1) });

const vacuumFullPlan = z.object({ tables: z.array(tableRef).min(1).max(MAX_NAMES) });
export type VacuumFullPlan = z.infer<typeof vacuumFullPlan>;

export const vacuumFullHandler = defineHandler({
  name: 'vacuum full',
  usage: 'vacuum full <table>…',
  summary: 'rewrite the named tables to give their dead space back to the disk (ACCESS EXCLUSIVE: the table is unavailable while it runs)',
  gated: true,
  args: tableNamesArgs,
  async run({ names }, ctx): Promise<GatedResult<VacuumFullPlan>> {
    if (names.length === 0) {
      throw new Refusal(
        '`vacuum full` without table names is refused: it would lock every table of the database, one after the other, for its whole rewrite. Name the tables (see `bloat`), or use `vacuum`, which blocks nothing.',
      );
    }
    const tables = [];
    for (const name of names) tables.push(await resolveRelation(ctx.db, name, { want: 'table', may: 'vacuum full' }));
    const totalBytes = tables.reduce((sum, t) => sum + t.bytes + t.indexBytes, 0);
    const largest = Math.max(...tables.map((t) => t.bytes + t.indexBytes));
    const targets = tables.map((t) =>
      [
        `VACUUM (FULL, ANALYZE) ${qualifiedName(t)} — table ${formatBytes(t.bytes)} + indexes ${formatBytes(t.indexBytes)}, ${rowEstimate(t.rows)}`,
        `   lock: ${LOCK_EFFECT.vacuumFull}`,
        `   disk: up to ${formatBytes(t.bytes + t.indexBytes)} more while it runs (a new copy of the table and its indexes; the old one is freed at the end)`,
      ].join('\n'),
    );
    targets.push(
      `one table at a time: at most ${formatBytes(largest)} of extra disk at once, ${formatBytes(totalBytes)} rewritten in all`,
      lockPolicyLine(ctx.config),
    );
    const noun = tables.length === 1 ? 'table' : 'tables';
    return planned('vacuum full', `rewrite ${tables.length} ${noun} with VACUUM FULL (${tables.map(qualifiedName).join(', ')}), each unavailable while it runs`, targets, {
      tables: tables.map((t) => ({ oid: t.oid, schema: t.schema, table: t.name })),
    });
  },
});

export const vacuumFullAction: GatedAction<VacuumFullPlan> = {
  action: 'vacuum full',
  plan: vacuumFullPlan,
  async execute(plan, ctx): Promise<ActionOutcome> {
    const steps: MaintenanceStep[] = [];
    for (const t of plan.tables) {
      const relation = `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
      const before = await findRelationByOid(ctx.db, t.oid);
      steps.push({
        title: `VACUUM (FULL, ANALYZE) ${t.schema}.${t.table}`,
        sql: `VACUUM (FULL, ANALYZE) ${relation}`,
        relation,
        after: async () => {
          const now = await relationTotalBytes(ctx.db, t.oid);
          return before && now !== null ? `${formatBytes(before.bytes + before.indexBytes)} → ${formatBytes(now)}` : undefined;
        },
      });
    }
    const noun = plan.tables.length === 1 ? 'table' : 'tables';
    return runApprovedMaintenance(ctx, 'vacuum full', `VACUUM FULL of ${plan.tables.length} ${noun}`, steps);
  },
};
