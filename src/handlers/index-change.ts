/**
 * `index create <table> <column>[,<column>…] [--unique] [--name N]` and `index drop <index>`: the
 * runbook's schema work ("Creating New Indexes"), gated, always CONCURRENTLY: reads and writes go on
 * while the index is built or dropped. A build that fails (a unique index over duplicates) or is
 * cancelled leaves an invalid index, which is dropped, and the report says so. `index drop`
 * refuses an index that backs a constraint (primary key, unique, exclusion, or one a foreign key
 * needs): dropping it would drop or break the constraint.
 */
import { z } from 'zod';
import { formatBytes, formatCount } from '../format.js';
import { findColumns, findRelations, relationNameTaken, type ColumnFacts, type Relation } from '../ops/postgres/maintenance-targets.js';
import { quoteIdent } from '../ops/postgres/quote-ident.js';
import { planned, type ActionOutcome, type GatedAction, type GatedResult } from './gated.js';
import { defineHandler } from './handler.js';
import { LOCK_EFFECT, lockPolicyLine } from './maintenance-locks.js';
import { runApprovedMaintenance } from './maintenance-procedure.js';
import { Refusal } from './refusal.js';
import { rowEstimate } from './row-estimate.js';
import { parseRelationName, PLAIN_IDENTIFIER, qualifiedName, resolveRelation } from './relation-args.js';
import type { RelationName } from '../ops/postgres/maintenance-targets.js';

/** PostgreSQL's INDEX_MAX_KEYS. */
const MAX_COLUMNS = 32;
const MAX_NAME_BYTES = 63;
/** B-tree leaves are filled to 90% by a build. */
const BTREE_FILL = 0.9;
/** Per entry: index tuple header (8) and its line pointer (4), before the keys. */
const ENTRY_OVERHEAD_BYTES = 12;

const createPlan = z.object({
  kind: z.literal('create'),
  schema: z.string().min(1),
  table: z.string().min(1),
  tableOid: z.number().int().positive(),
  columns: z.array(z.string().min(1)).min(1).max(MAX_COLUMNS),
  unique: z.boolean(),
  name: z.string().min(1).max(MAX_NAME_BYTES),
});
const dropPlan = z.object({
  kind: z.literal('drop'),
  schema: z.string().min(1),
  name: z.string().min(1),
  oid: z.number().int().positive(),
  table: z.string().min(1),
  tableOid: z.number().int().positive(),
  bytes: z.number().min(0),
});
export type IndexCreatePlan = z.infer<typeof createPlan>;
export type IndexDropPlan = z.infer<typeof dropPlan>;

type IndexArgs =
  | { kind: 'create'; table: RelationName; columns: string[]; unique: boolean; name: string | null }
  | { kind: 'drop'; index: RelationName };

const USAGE_PROBLEM = 'takes `create <table> <column>[,<column>…] [--unique] [--name N]` or `drop <index>`';

const indexArgs = z
  .object({ positional: z.array(z.string()), flags: z.record(z.string(), z.union([z.string(), z.literal(true)])) })
  .transform((raw, ctx): IndexArgs => {
    const fail = (message: string): never => {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    };
    const [verb, ...rest] = raw.positional;
    if (verb?.toLowerCase() === 'drop') {
      if (Object.keys(raw.flags).length) return fail('drop takes no options');
      if (rest.length !== 1) return fail('drop takes one index name');
      const index = parseRelationName(rest[0] as string);
      return typeof index === 'string' ? fail(index) : { kind: 'drop', index };
    }
    if (verb?.toLowerCase() !== 'create') return fail(USAGE_PROBLEM);
    const unknown = Object.keys(raw.flags).find((f) => f !== 'unique' && f !== 'name');
    if (unknown) return fail(`create has no option --${unknown} (only --unique and --name N)`);
    const [tableText, ...columnWords] = rest;
    if (tableText === undefined || columnWords.length === 0) return fail('create needs a table and its columns: create <table> <column>[,<column>…]');
    const table = parseRelationName(tableText);
    if (typeof table === 'string') return fail(table);
    const columns = columnWords.join(',').split(',').map((c) => c.trim()).filter(Boolean);
    const badColumn = columns.find((c) => !PLAIN_IDENTIFIER.test(c));
    if (badColumn !== undefined) return fail(`"${badColumn.slice(0, 40)}" is not a column name: use letters, digits and _`);
    if (columns.length === 0) return fail('create needs at least one column');
    if (columns.length > MAX_COLUMNS) return fail(`an index takes at most ${MAX_COLUMNS} columns`);
    if (new Set(columns.map((c) => c.toLowerCase())).size !== columns.length) return fail('names a column twice');
    if (raw.flags.unique !== undefined && raw.flags.unique !== true) return fail('--unique takes no value');
    const name = raw.flags.name;
    if (name === true) return fail('--name needs an index name');
    if (name !== undefined && !PLAIN_IDENTIFIER.test(name)) return fail(`--name "${name.slice(0, 40)}" is not an index name: use letters, digits and _, at most 63`);
    return { kind: 'create', table, columns, unique: raw.flags.unique === true, name: name ?? null };
  });

export const indexHandler = defineHandler({
  name: 'index',
  usage: 'index create <table> <column>[,<column>…] [--unique] [--name N] · index drop <index>',
  summary: 'CREATE or DROP an index CONCURRENTLY: reads and writes go on; a failed build leaves no invalid index',
  gated: true,
  args: indexArgs,
  async run(args, ctx): Promise<GatedResult<IndexCreatePlan | IndexDropPlan>> {
    if (args.kind === 'drop') {
      const index = await resolveRelation(ctx.db, args.index, { want: 'index', may: 'drop' });
      return planDrop(index, ctx.config);
    }
    const table = await resolveRelation(ctx.db, args.table, { want: 'table', may: 'create an index on' });
    const { found, missing } = await findColumns(ctx.db, table.oid, args.columns);
    if (missing.length) {
      throw new Refusal(`\`${qualifiedName(table)}\` has no column ${missing.map((m) => `\`${m}\``).join(', ')}; nothing was done.`);
    }
    const name = args.name ?? (await freeIndexName(ctx.db, table, found, args.unique));
    if (args.name !== null && (await relationNameTaken(ctx.db, table.schema, name))) {
      throw new Refusal(`Schema \`${table.schema}\` already has a relation named \`${name}\`: choose another --name; nothing was done.`);
    }
    const columns = found.map((c) => c.name);
    const kind = args.unique ? 'UNIQUE INDEX' : 'INDEX';
    const targets = [
      `CREATE ${kind} CONCURRENTLY ${table.schema}.${name} ON ${qualifiedName(table)} (${columns.join(', ')}) — table ${formatBytes(table.bytes)}, ${rowEstimate(table.rows)}`,
      `lock: ${LOCK_EFFECT.concurrent}; the build first waits for the transactions already running on the table`,
      `disk: ${estimateIndexSize(table, found)}`,
      ...(args.unique ? ['a duplicate value makes the build fail: nothing is changed, and the invalid index it leaves is dropped'] : []),
      lockPolicyLine(ctx.config),
    ];
    return planned('index create', `create the ${args.unique ? 'unique ' : ''}index ${name} on ${qualifiedName(table)} (${columns.join(', ')}) concurrently`, targets, {
      kind: 'create',
      schema: table.schema,
      table: table.name,
      tableOid: table.oid,
      columns,
      unique: args.unique,
      name,
    });
  },
});

function planDrop(index: Relation, config: Parameters<typeof lockPolicyLine>[0]): GatedResult<IndexDropPlan> {
  const facts = index.index;
  if (!facts) throw new Refusal(`\`${qualifiedName(index)}\` is not an index; nothing was done.`);
  if (facts.constraint) {
    const { name, kind, table } = facts.constraint;
    const why = kind === 'foreign key' ? `the foreign key \`${name}\` of ${table} depends on it` : `it backs the ${kind} constraint \`${name}\``;
    throw new Refusal(`\`${qualifiedName(index)}\` is not dropped: ${why}, and dropping the index would ${kind === 'foreign key' ? 'break' : 'drop'} the constraint. The bot does not drop constraints; nothing was done.`);
  }
  if (index.kind === 'partitioned index') {
    throw new Refusal(`\`${qualifiedName(index)}\` is an index of a partitioned table, which PostgreSQL cannot drop CONCURRENTLY; nothing was done.`);
  }
  const table = `${index.schema}.${facts.table}`;
  const targets = [
    `DROP INDEX CONCURRENTLY ${qualifiedName(index)} on ${table} — frees ${formatBytes(index.bytes)}; ${formatCount(facts.scans)} scans since the statistics were reset${facts.valid ? '' : ' (invalid: queries do not use it)'}`,
    `   ${facts.definition}`,
    `lock: ${LOCK_EFFECT.concurrent}; it first waits for the queries using the index`,
    'queries that used it fall back to other indexes or sequential scans',
    lockPolicyLine(config),
  ];
  return planned('index drop', `drop the index ${qualifiedName(index)} on ${table} concurrently`, targets, {
    kind: 'drop',
    schema: index.schema,
    name: index.name,
    oid: index.oid,
    table,
    tableOid: facts.tableOid,
    bytes: index.bytes,
  });
}

/** PostgreSQL's own pattern (`table_col_idx`, `table_col_key` for unique), cut to 63 bytes, numbered when taken. */
async function freeIndexName(db: Parameters<typeof relationNameTaken>[0], table: Relation, columns: ColumnFacts[], unique: boolean): Promise<string> {
  const suffix = unique ? 'key' : 'idx';
  const base = `${table.name}_${columns.map((c) => c.name).join('_')}`;
  for (let n = 0; n < 10; n++) {
    const tail = `_${suffix}${n === 0 ? '' : n}`;
    const name = `${cutToBytes(base, MAX_NAME_BYTES - Buffer.byteLength(tail))}${tail}`;
    if (!(await relationNameTaken(db, table.schema, name))) return name;
  }
  throw new Refusal(`Could not find a free index name for \`${qualifiedName(table)}\`: give one with --name; nothing was done.`);
}

function cutToBytes(text: string, bytes: number): string {
  let cut = text;
  while (Buffer.byteLength(cut) > bytes) cut = cut.slice(0, -1);
  return cut;
}

/** "about 2.1 MB (~50,000 rows × 40 bytes per entry) …", or why it cannot be told. */
export function estimateIndexSize(table: Pick<Relation, 'rows' | 'bytes'>, columns: readonly ColumnFacts[]): string {
  const sort = 'plus temporary sort files of about as much while it builds, when that exceeds maintenance_work_mem';
  if (columns.some((c) => c.avgWidth === null) || table.rows === null) {
    return `unknown: the table has no statistics (run \`analyze\` first); at most about the table's ${formatBytes(table.bytes)}, ${sort}`;
  }
  const keyBytes = columns.reduce((sum, c) => sum + (c.avgWidth ?? 0), 0);
  const entry = Math.ceil((ENTRY_OVERHEAD_BYTES + keyBytes) / 8) * 8;
  const bytes = (table.rows * entry) / BTREE_FILL;
  return `about ${formatBytes(bytes)} (${rowEstimate(table.rows)} × ${entry} bytes per entry), ${sort}`;
}

export const indexCreateAction: GatedAction<IndexCreatePlan> = {
  action: 'index create',
  plan: createPlan,
  execute(plan, ctx): Promise<ActionOutcome> {
    const table = `${quoteIdent(plan.schema)}.${quoteIdent(plan.table)}`;
    const title = `CREATE ${plan.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY ${plan.schema}.${plan.name}`;
    return runApprovedMaintenance(ctx, 'index create', `index ${plan.schema}.${plan.name}`, [
      {
        title,
        sql: `CREATE ${plan.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY ${quoteIdent(plan.name)} ON ${table} (${plan.columns.map(quoteIdent).join(', ')})`,
        relation: table,
        buildsIndexOn: plan.tableOid,
        after: async () => {
          const [built] = (await findRelations(ctx.db, { schema: plan.schema, name: plan.name })).filter((r) => r.index);
          return built ? `${formatBytes(built.bytes)}, ${built.index?.valid ? 'valid' : 'NOT valid'}` : undefined;
        },
      },
    ]);
  },
};

export const indexDropAction: GatedAction<IndexDropPlan> = {
  action: 'index drop',
  plan: dropPlan,
  execute(plan, ctx): Promise<ActionOutcome> {
    const index = `${quoteIdent(plan.schema)}.${quoteIdent(plan.name)}`;
    return runApprovedMaintenance(ctx, 'index drop', `drop of ${plan.schema}.${plan.name}`, [
      {
        title: `DROP INDEX CONCURRENTLY ${plan.schema}.${plan.name}`,
        sql: `DROP INDEX CONCURRENTLY ${index}`,
        relation: index,
        after: async () => `freed ${formatBytes(plan.bytes)}`,
      },
    ]);
  },
};
