/**
 * `growth`'s answer: the database now against a day, a week and a month ago, growth per day, when
 * the volume fills at that rate, then the ten largest tables the same way.
 */
import type { GrowthResult, TableGrowth } from '../../handlers/growth.js';
import { formatDuration } from '../../duration.js';
import { formatBytes, formatTime } from '../../format.js';
import { codeBlock, context, escapeMrkdwn, fitMessage, header, measuredAt, section, sectionFields, type Block, type Message } from '../blocks.js';

export function growthView(result: GrowthResult): Message {
  const blocks: Block[] = [header(`Size growth of ${result.database}`)];
  const perDay = result.perDayBytes === null ? null : `${signedBytes(result.perDayBytes)} per day`;
  blocks.push(
    ...sectionFields([
      `*Now*\n${formatBytes(result.nowBytes)}`,
      ...result.points.map((p) => `*${escapeMrkdwn(capitalize(p.label))}*\n${formatBytes(p.databaseBytes)} (${signedBytes(result.nowBytes - p.databaseBytes)})`),
      `*Growth*\n${perDay === null ? 'not enough history yet (an hour at least)' : `${perDay}, over ${formatDuration(result.measuredAt.getTime() - (result.baseline?.at.getTime() ?? 0))}`}`,
      `*Volume*\n${volumeLine(result)}`,
    ]),
  );
  if (result.points.length === 0) {
    blocks.push(
      section(
        result.samplingOff
          ? ':information_source: Sampling is off (HISTORY_INTERVAL=off): there is nothing to compare with. Set HISTORY_INTERVAL (e.g. 1m).'
          : ':information_source: No history yet: the bot samples the sizes every HISTORY_INTERVAL. Ask again later.',
      ),
    );
  }
  if (result.tables.length > 0) blocks.push(section(`*Largest tables*\n${codeBlock(tableLines(result).join('\n'), 2_900)}`));
  if (result.volume.kind === 'known') {
    const { used } = result.volume;
    blocks.push(
      context([
        `Used on the volume: ${formatBytes(used.databasesBytes)} of databases${used.walBytes === null ? ' (WAL not readable: grant pg_monitor)' : ` + ${formatBytes(used.walBytes)} of WAL`}; other files (logs, temporary files) are not counted, so the volume may fill sooner.`,
      ]),
    );
  }
  blocks.push(measuredAt(result.measuredAt));
  return fitMessage({ text: `Size growth: ${formatBytes(result.nowBytes)}${perDay ? `, ${perDay}` : ''}`, blocks });
}

function volumeLine(result: GrowthResult): string {
  const v = result.volume;
  if (v.kind === 'not-configured') return 'n/a (Kubernetes not configured)';
  if (v.kind === 'unavailable') return `n/a — ${escapeMrkdwn(v.reason)}`;
  const share = `${formatBytes(v.usedBytes)} of ${escapeMrkdwn(v.capacity)} used (${Math.round((100 * v.usedBytes) / v.capacityBytes)}%)`;
  if (v.fullInMs === null) return `${share}; not growing`;
  if (v.fullInMs > 10 * 365 * 86_400_000) return `${share}; not full within 10 years at this rate`;
  const at = new Date(result.measuredAt.getTime() + v.fullInMs);
  const warn = v.fullInMs < 14 * 86_400_000 ? ':warning: ' : '';
  return `${share}; ${warn}full in ~${formatDuration(v.fullInMs)} (around ${formatTime(at).slice(0, 10)}) at this rate`;
}

function tableLines(result: GrowthResult): string[] {
  const schemas = new Set(result.tables.map((t) => t.schema));
  const name = (t: TableGrowth) => (schemas.size > 1 ? `${t.schema}.${t.table}` : t.table);
  const heads = ['table', 'now', ...result.points.map((p) => short(p.label)), 'per day'];
  const rows = result.tables.map((t) => [
    name(t),
    formatBytes(t.nowBytes),
    ...t.thenBytes.map((then) => (then === null ? '—' : signedBytes(t.nowBytes - then))),
    t.perDayBytes === null ? '—' : signedBytes(t.perDayBytes),
  ]);
  const widths = heads.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(heads), ...rows.map(line), ...(result.tables.some((t) => t.thenBytes.includes(null)) ? ['— : not among that sample’s ten largest tables'] : [])];
}

/** "1 day ago" → "vs 1d"; "the oldest sample (3d 4h ago)" → "vs oldest". */
function short(label: string): string {
  if (label.startsWith('the oldest')) return 'vs oldest';
  const m = /^(\d+) days? ago/.exec(label);
  if (m) return `vs ${m[1]}d`;
  return `vs ${label.replace(/ ago.*$/, '')}`;
}

function signedBytes(n: number): string {
  if (Math.round(n) === 0) return '±0 B';
  return `${n > 0 ? '+' : '−'}${formatBytes(Math.abs(n))}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
