/**
 * `chart`'s answer: the figures of the window in a few fields, the shape as a sparkline (what a
 * notification or the console shows), and the picture itself — on Slack the PNG is uploaded with
 * this message (slack-app.ts), the console writes it to a file.
 */
import type { ChartResult } from '../../handlers/chart.js';
import type { FigureChart } from '../../handlers/history-figures.js';
import { sparkline } from '../../charts/sparkline.js';
import { formatDuration } from '../../duration.js';
import { formatTime } from '../../format.js';
import type { CommandAnswer } from '../command-answer.js';
import { codeBlock, context, escapeMrkdwn, fitMessage, header, measuredAt, section, sectionFields, type Block, type Message } from '../blocks.js';

const SPARKLINE_WIDTH = 60;

export function chartAnswer(result: ChartResult): CommandAnswer {
  const message = chartView(result);
  if (result.image === null) return { message };
  const { png, filename, title, altText } = result.image;
  return { message, image: { png, filename, title, altText } };
}

export function chartView(result: ChartResult): Message {
  const { chart, window } = result;
  const span = `last ${formatDuration(window.sinceMs)}`;
  const blocks: Block[] = [header(`${chart.title} — ${span}`)];
  if (result.image === null) {
    const why = result.samplingOff
      ? 'Sampling is off (HISTORY_INTERVAL=off): set HISTORY_INTERVAL (e.g. 1m) to keep a history.'
      : `No samples in the ${span} yet: the bot samples every HISTORY_INTERVAL; come back in a few minutes.`;
    blocks.push(section(`:information_source: ${why}`), measuredAt(result.measuredAt));
    return fitMessage({ text: `${chart.title}: no samples in the ${span}`, blocks });
  }
  const s = chart.summary;
  const value = (v: number | null) => formatValue(v, chart);
  blocks.push(
    ...sectionFields([
      `*Now*\n${value(s.latest)}`,
      `*Lowest · highest*\n${value(s.min)} · ${value(s.max)}`,
      `*Mean*\n${value(s.mean)}`,
      `*Threshold*\n${chart.thresholds.map((t) => escapeMrkdwn(t.label)).join('\n') || 'none'}`,
    ]),
  );
  const line = sparkline(chart.series[0]?.points.map((p) => p[1]) ?? [], SPARKLINE_WIDTH);
  if (line) blocks.push(section(`${escapeMrkdwn(chart.series[0]?.name ?? '')}\n${codeBlock(line)}`));
  const notes = [`${s.points} ${s.points === 1 ? "point" : "points"} from ${formatTime(window.from)} to ${formatTime(window.to)}`];
  if (window.clamped) notes.push('cut to HISTORY_RETENTION, how long the history is kept');
  if (result.historySince) notes.push(`the history starts at ${formatTime(result.historySince)}`);
  blocks.push(context(notes));
  return fitMessage({ text: `${chart.title}, ${span}: now ${value(s.latest)}, highest ${value(s.max)} ${line}`, blocks });
}

function formatValue(v: number | null, chart: FigureChart): string {
  if (v === null) return 'n/a';
  const digits = Math.abs(v) >= 100 || Number.isInteger(v) ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  const unit = chart.unit === '%' ? '%' : ` ${chart.unit}`;
  return `${v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: chart.unit === '%' ? 2 : 0 })}${unit}`;
}
