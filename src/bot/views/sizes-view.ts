import type { SizesResult } from '../../handlers/sizes.js';
import { escapeMrkdwn, fitMessage, header, measuredAt, section, sectionFields, type Block, type Message } from '../blocks.js';
import { formatBytes, formatCount } from '../../format.js';

const MAX_LISTED = 10;
const EMPTY_TOAST_BYTES = 8192;

export function sizesView(result: SizesResult): Message {
  const scope = result.schema === null ? '' : ` in ${result.schema}`;
  const { sizes } = result;
  const blocks: Block[] = [header(`Storage${scope}`)];
  const databaseField = `*Database*\n${formatBytes(sizes.databaseBytes)} (${escapeMrkdwn(sizes.database)})`;
  if (!result.schemaFound) {
    blocks.push(
      ...sectionFields([databaseField]),
      section(`There is no schema \`${escapeMrkdwn(result.schema ?? '')}\` in this database.`),
      measuredAt(result.measuredAt),
    );
    return fitMessage({ text: `Storage: no schema ${result.schema ?? ''}`, blocks });
  }
  const where = result.schema === null ? 'Tables' : `Tables in ${escapeMrkdwn(result.schema)}`;
  blocks.push(
    ...sectionFields([
      databaseField,
      `*${where}*\n${formatCount(sizes.tableCount)} · ${formatBytes(sizes.tablesTotalBytes)} with indexes`,
    ]),
  );
  if (sizes.tableCount === 0) {
    const none = result.schema === null ? 'outside the system schemas' : `in schema \`${escapeMrkdwn(result.schema)}\``;
    blocks.push(section(`No tables ${none}.`), measuredAt(result.measuredAt));
    return fitMessage({ text: `Storage${scope}: ${formatBytes(sizes.databaseBytes)}, no tables`, blocks });
  }

  const schemas = new Set([...sizes.tables, ...sizes.indexes].map((r) => r.schema));
  const name = (schema: string, relation: string): string =>
    `\`${escapeMrkdwn(schemas.size > 1 ? `${schema}.${relation}` : relation)}\``;
  const more = (lines: string[], total: number): string[] =>
    total > lines.length ? [...lines, `… and ${formatCount(total - lines.length)} more`] : lines;

  const tableLines = sizes.tables.slice(0, MAX_LISTED).map((t) => {
    const rows = t.rowsEstimate === null ? '' : ` · ~${formatCount(Math.round(t.rowsEstimate))} rows`;
    // An empty TOAST table still has its 8 kB index: not worth a word on a phone.
    const toast = t.toastBytes > EMPTY_TOAST_BYTES ? ` · toast ${formatBytes(t.toastBytes)}` : '';
    return `• ${name(t.schema, t.table)} *${formatBytes(t.totalBytes)}*${rows}\n   table ${formatBytes(t.tableBytes)} · indexes ${formatBytes(t.indexBytes)}${toast}`;
  });
  blocks.push(section(`*Largest tables*\n${more(tableLines, sizes.tableCount).join('\n')}`));

  if (sizes.indexes.length) {
    const indexLines = sizes.indexes
      .slice(0, MAX_LISTED)
      .map((i) => `• ${name(i.schema, i.index)} ${formatBytes(i.sizeBytes)} on ${escapeMrkdwn(i.table)}`);
    blocks.push(section(`*Largest indexes*\n${more(indexLines, sizes.indexCount).join('\n')}`));
  }
  blocks.push(measuredAt(result.measuredAt));

  const largest = sizes.tables[0];
  const text = `Storage${scope}: database ${formatBytes(sizes.databaseBytes)}${largest ? `, largest table ${largest.table} ${formatBytes(largest.totalBytes)}` : ''}`;
  return fitMessage({ text, blocks });
}
