import type { BloatResult } from '../../handlers/bloat.js';
import { RUNBOOK_DEAD_TUPLES, type TableBloat } from '../../ops/postgres/bloat.js';
import { formatDuration } from '../../duration.js';
import { codeBlock, context, escapeMrkdwn, fitMessage, header, measuredAt, section, type Block, type Message } from '../blocks.js';
import { formatCount, formatPercent } from '../../format.js';

const MAX_LISTED = 10;
const MAX_STATEMENTS = 5;
/** From this dead share on, `vacuum full` is offered too: the table is mostly dead space. */
const MOSTLY_DEAD = 0.5;

export function bloatView(result: BloatResult): Message {
  const scope = result.schema === null ? '' : ` in ${result.schema}`;
  const blocks: Block[] = [header(`Dead tuples and vacuum${scope}`)];
  if (!result.schemaFound) {
    blocks.push(section(`There is no schema \`${escapeMrkdwn(result.schema ?? '')}\` in this database.`), measuredAt(result.measuredAt));
    return fitMessage({ text: `Bloat: no schema ${result.schema ?? ''}`, blocks });
  }
  const { report } = result;
  if (report.total === 0) {
    const where = result.schema === null ? 'outside the system schemas' : `in schema \`${escapeMrkdwn(result.schema)}\``;
    blocks.push(section(`No tables ${where}.`), measuredAt(result.measuredAt));
    return fitMessage({ text: `Bloat${scope}: no tables`, blocks });
  }

  const schemas = new Set(report.tables.map((t) => t.schema));
  const name = (t: TableBloat): string => `\`${escapeMrkdwn(schemas.size > 1 ? `${t.schema}.${t.table}` : t.table)}\``;
  const ago = (date: Date | null): string => (date === null ? 'never' : `${formatDuration(result.measuredAt.getTime() - date.getTime())} ago`);
  const lastOf = (manual: Date | null, auto: Date | null): string => {
    const latest = [manual, auto].filter((d): d is Date => d !== null).sort((a, b) => b.getTime() - a.getTime())[0] ?? null;
    return `${ago(latest)}${latest !== null && latest === auto ? ' (auto)' : ''}`;
  };
  const deadShare = (t: TableBloat): string => (t.deadRatio === null ? '' : ` (${formatPercent(t.deadRatio)})`);

  const overLimit = report.overRunbookLimit
    ? ` · ${report.overRunbookLimit} over the runbook's ${formatCount(RUNBOOK_DEAD_TUPLES)} dead tuples`
    : '';
  const verdict = report.due
    ? `:warning: *${report.due} of ${formatCount(report.total)} tables due for vacuum*`
    : `:large_green_circle: *No table is due for vacuum* (${formatCount(report.total)} tables)`;
  blocks.push(section(`${verdict}${overLimit}`));

  const due = report.tables.filter((t) => t.dueForVacuum);
  if (due.length) {
    const lines = due.slice(0, MAX_LISTED).map((t) =>
      [
        `• ${name(t)} ${formatCount(t.deadTuples)} dead · ${formatCount(t.liveTuples)} live${deadShare(t)}`,
        `   over ${formatCount(t.vacuumThreshold)} · vacuumed ${lastOf(t.lastVacuum, t.lastAutovacuum)} · analyzed ${lastOf(t.lastAnalyze, t.lastAutoanalyze)}`,
        ...(t.autovacuumEnabled ? [] : ['   _autovacuum is off for this table_']),
      ].join('\n'),
    );
    if (report.due > lines.length) lines.push(`… and ${formatCount(report.due - lines.length)} more`);
    blocks.push(section(`*Due for vacuum*\n${lines.join('\n')}`));
    const qualified = (t: TableBloat): string => `${t.schema}.${t.table}`;
    const commands = [`/recipedb vacuum ${due.slice(0, MAX_STATEMENTS).map(qualified).join(' ')}`];
    // Mostly dead: a plain VACUUM makes the space reusable, only a rewrite gives it back to the disk.
    const mostlyDead = due.filter((t) => (t.deadRatio ?? 0) >= MOSTLY_DEAD).slice(0, MAX_STATEMENTS);
    if (mostlyDead.length) commands.push(`/recipedb vacuum full ${mostlyDead.map(qualified).join(' ')}`);
    blocks.push(
      section(`*To vacuum them* (progress and Cancel in the message; \`vacuum full\` needs approval and locks each table while it rewrites it):\n${codeBlock(commands.join('\n'))}`),
    );
  }

  const others = report.tables.filter((t) => !t.dueForVacuum && t.deadTuples > 0).slice(0, MAX_LISTED);
  if (others.length) {
    const lines = others.map(
      (t) =>
        `• ${t.deadTuples > RUNBOOK_DEAD_TUPLES ? ':warning: ' : ''}${name(t)} ${formatCount(t.deadTuples)} dead${deadShare(t)} · vacuumed ${lastOf(t.lastVacuum, t.lastAutovacuum)}`,
    );
    const rest = report.total - report.due - others.length;
    if (rest > 0) lines.push(`… and ${formatCount(rest)} more with fewer dead tuples`);
    blocks.push(section(`*Dead tuples* — not due yet\n${lines.join('\n')}`));
  } else if (!due.length) {
    blocks.push(section('No dead tuples in any table.'));
  }

  blocks.push(
    context([
      'Due: dead tuples over autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor × rows (per-table settings honoured). Counts are estimates from the statistics views.',
    ]),
    measuredAt(result.measuredAt),
  );
  const text = report.due ? `Bloat${scope}: ${report.due} table${report.due === 1 ? '' : 's'} due for vacuum` : `Bloat${scope}: no table due for vacuum`;
  return fitMessage({ text, blocks });
}
