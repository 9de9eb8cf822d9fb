import type { IndexesResult } from '../../handlers/indexes.js';
import { context, escapeMrkdwn, fitMessage, header, listWithMore, measuredAt, section, type Block, type Message } from '../blocks.js';
import { formatBytes, formatCount, formatTime } from '../../format.js';

const MAX_LISTED = 10;

export function indexesView(result: IndexesResult): Message {
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
      context(['Usually a failed CREATE INDEX CONCURRENTLY: `DROP INDEX CONCURRENTLY` it, fix the cause (e.g. duplicate values), create it again.']),
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
  blocks.push(measuredAt(result.measuredAt));

  const text = problems.length ? `Indexes${scope}: ${problems.join(', ')}` : `Indexes${scope}: no unused, duplicate or invalid indexes`;
  return fitMessage({ text, blocks });
}
