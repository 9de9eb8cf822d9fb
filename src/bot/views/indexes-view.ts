import type { IndexesResult, MissingIndexesResult } from '../../handlers/indexes.js';
import { codeBlock, context, escapeMrkdwn, fitMessage, header, listWithMore, measuredAt, section, type Block, type Message } from '../blocks.js';
import { formatBytes, formatCount, formatTime } from '../../format.js';

const MAX_LISTED = 10;
/** Drop commands shown at most; the rest are in the lists above them. */
const MAX_DROP_COMMANDS = 5;

export function indexesView(result: IndexesResult | MissingIndexesResult): Message {
  return result.kind === 'missing' ? missingIndexesView(result) : usageView(result);
}

function usageView(result: IndexesResult): Message {
  const scope = result.schema === null ? '' : ` in ${result.schema}`;
  const blocks: Block[] = [header(`Indexes${scope}`)];
  if (!result.schemaFound) {
    blocks.push(section(`There is no schema \`${escapeMrkdwn(result.schema ?? '')}\` in this database.`), measuredAt(result.measuredAt));
    return fitMessage({ text: `Indexes: no schema ${result.schema ?? ''}`, blocks });
  }
  if (result.usage.total === 0) {
    const where = result.schema === null ? 'outside the system schemas' : `in schema \`${escapeMrkdwn(result.schema)}\``;
    blocks.push(section(`No indexes ${where}.`), measuredAt(result.measuredAt));
    return fitMessage({ text: `Indexes${scope}: none`, blocks });
  }

  const { usage, duplicates, invalid } = result;
  // A duplicate that is also never scanned is listed once, as a duplicate: that is the stronger reason.
  const duplicateNames = new Set(duplicates.map((d) => `${d.schema}.${d.index}`));
  const unused = result.unused.filter((u) => !duplicateNames.has(`${u.schema}.${u.index}`));
  const schemas = new Set([...usage.indexes, ...unused, ...duplicates, ...invalid].map((i) => i.schema));
  // One schema (the usual case) needs no prefix; several do, or names would be ambiguous.
  const name = (schema: string, index: string): string => `\`${escapeMrkdwn(schemas.size > 1 ? `${schema}.${index}` : index)}\``;
  const sumBytes = (items: { sizeBytes: number }[]): number => items.reduce((sum, i) => sum + i.sizeBytes, 0);

  const problems = [
    unused.length ? `${unused.length} unused (${formatBytes(sumBytes(unused))})` : '',
    duplicates.length ? `${duplicates.length} duplicate${duplicates.length === 1 ? '' : 's'} (${formatBytes(sumBytes(duplicates))})` : '',
    invalid.length ? `${invalid.length} invalid` : '',
  ].filter(Boolean);
  const icon = problems.length ? ':warning:' : ':large_green_circle:';
  const findings = problems.length ? problems.join(' · ') : 'no unused, duplicate or invalid indexes';
  blocks.push(section(`${icon} *${formatCount(usage.total)} index${usage.total === 1 ? '' : 'es'}* · ${findings}`));

  if (invalid.length) {
    const lines = listWithMore(invalid, MAX_LISTED, (i) =>
      `• ${name(i.schema, i.index)} on ${escapeMrkdwn(i.table)} · ${formatBytes(i.sizeBytes)}${i.beingBuilt ? ' · _being built now_' : ''}`,
    );
    blocks.push(
      section(`*Invalid* — queries ignore them, writes still pay for them\n${lines.join('\n')}`),
      context(['Usually a failed CREATE INDEX CONCURRENTLY: drop it (below), fix the cause (e.g. duplicate values), create it again with `/recipedb index create`.']),
    );
  }
  if (duplicates.length) {
    const lines = listWithMore(duplicates, MAX_LISTED, (d) =>
      `• ${name(d.schema, d.index)} (${formatBytes(d.sizeBytes)}, ${formatCount(d.scans)} scan${d.scans === 1 ? '' : 's'}) — covered by ${name(d.schema, d.coveredBy)}`,
    );
    blocks.push(section(`*Duplicates* — a wider index serves the same queries\n${lines.join('\n')}`));
  }
  if (unused.length) {
    const since = usage.statsResetAt ? `since ${formatTime(usage.statsResetAt)}` : 'since statistics began';
    const lines = listWithMore(unused, MAX_LISTED, (u) => `• ${name(u.schema, u.index)} on ${escapeMrkdwn(u.table)} · ${formatBytes(u.sizeBytes)}`);
    blocks.push(
      section(`*Unused* — 0 scans ${since}\n${lines.join('\n')}`),
      context(['Scans count on this server only: check replicas and rare jobs before dropping. Unique indexes are never listed.']),
    );
  }
  // Unused, duplicate and invalid indexes are already listed above: the usage list shows the others.
  const listedAbove = new Set([...unused, ...duplicates, ...invalid].map((i) => `${i.schema}.${i.index}`));
  const others = usage.indexes.filter((i) => !listedAbove.has(`${i.schema}.${i.index}`));
  const usageLines = others
    .slice(0, MAX_LISTED)
    .map((i) => `• ${name(i.schema, i.index)} ${formatCount(i.scans)} scan${i.scans === 1 ? '' : 's'} · ${formatBytes(i.sizeBytes)}`);
  const notShown = others.length - usageLines.length + (usage.total - usage.indexes.length);
  if (notShown > 0) usageLines.push(`… and ${formatCount(notShown)} more`);
  if (usageLines.length) blocks.push(section(`*Usage* — least used first${listedAbove.size ? ', besides those above' : ''}\n${usageLines.join('\n')}`));
  // Invalid first (they cost writes for nothing), then duplicates, then unused; `index drop` needs approval.
  const droppable = [...invalid, ...duplicates, ...unused].map((i) => `/recipedb index drop ${i.schema}.${i.index}`);
  if (droppable.length) {
    const more = droppable.length > MAX_DROP_COMMANDS ? `\n… and ${droppable.length - MAX_DROP_COMMANDS} more like it` : '';
    blocks.push(section(`*To drop one* (concurrently, after approval):\n${codeBlock(droppable.slice(0, MAX_DROP_COMMANDS).join('\n') + more)}`));
  }
  blocks.push(measuredAt(result.measuredAt));

  const text = problems.length ? `Indexes${scope}: ${problems.join(', ')}` : `Indexes${scope}: no unused, duplicate or invalid indexes`;
  return fitMessage({ text, blocks });
}

function missingIndexesView(result: MissingIndexesResult): Message {
  const scope = result.schema === null ? '' : ` in ${result.schema}`;
  const blocks: Block[] = [header(`Tables read by sequential scans${scope}`)];
  if (!result.schemaFound) {
    blocks.push(section(`There is no schema \`${escapeMrkdwn(result.schema ?? '')}\` in this database.`), measuredAt(result.measuredAt));
    return fitMessage({ text: `Missing indexes: no schema ${result.schema ?? ''}`, blocks });
  }
  const since = result.statsResetAt ? `since ${formatTime(result.statsResetAt)}` : 'since statistics began';
  if (result.tables.length === 0) {
    blocks.push(
      section(`:large_green_circle: No table is read mostly by sequential scans of ${formatCount(result.minRows)} rows or more (${since}).`),
      measuredAt(result.measuredAt),
    );
    return fitMessage({ text: `Missing indexes${scope}: none suspected`, blocks });
  }
  const schemas = new Set(result.tables.map((t) => t.schema));
  const lines = result.tables.slice(0, MAX_LISTED).map((t) => {
    const name = schemas.size > 1 ? `${t.schema}.${t.table}` : t.table;
    const perScan = Math.round(t.seqRowsRead / t.seqScans);
    const share = (t.seqScans / (t.seqScans + t.indexScans)) * 100;
    return [
      `• \`${escapeMrkdwn(name)}\` ~${formatCount(t.rows)} rows · ${formatBytes(t.sizeBytes)}`,
      `   ${formatCount(t.seqScans)} sequential scans read ${formatCount(t.seqRowsRead)} rows (${formatCount(perScan)} per scan) · ${formatCount(t.indexScans)} index scans · ${share.toFixed(share >= 99.95 ? 0 : 1)}% sequential`,
    ].join('\n');
  });
  if (result.total > lines.length) lines.push(`… and ${formatCount(result.total - lines.length)} more`);
  blocks.push(
    section(`:warning: *${formatCount(result.total)} ${result.total === 1 ? 'table is' : 'tables are'} read mostly by sequential scans* (${since}), most rows read first\n${lines.join('\n')}`),
    context([
      `Tables whose sequential scans read under ${formatCount(result.minRows)} rows each are left out: that is cheap. Find the statements that read a table with \`/recipedb queries\`, then \`${escapeMrkdwn('/recipedb index create <table> <column>[,<column>…]')}\` (built concurrently, after approval).`,
    ]),
    measuredAt(result.measuredAt),
  );
  return fitMessage({ text: `Missing indexes${scope}: ${result.total} ${result.total === 1 ? 'table' : 'tables'} read mostly by sequential scans`, blocks });
}
