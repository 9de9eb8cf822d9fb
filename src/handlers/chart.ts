/**
 * `chart <figure> [--since D]`: a PNG line chart of one sampled figure (SPEC section 13), with the
 * status thresholds drawn as lines. On Slack the picture is uploaded to the channel with the
 * answer; the console writes it to a file.
 */
import { z } from 'zod';
import { renderLineChart } from '../charts/line-chart.js';
import { formatDuration } from '../duration.js';
import { DAY_MS } from '../state/history-downsample.js';
import { oldestSample, readHistory } from '../state/history-samples.js';
import { onlyFlags } from './args.js';
import { defineHandler } from './handler.js';
import { CHART_FIGURES, figureChart, type ChartFigure, type FigureChart } from './history-figures.js';
import { historyWindow, sinceFlag, type HistoryWindow } from './history-window.js';

export interface ChartImage {
  png: Buffer;
  width: number;
  height: number;
  filename: string;
  title: string;
  /** What the picture shows, for screen readers and notifications. */
  altText: string;
  renderMs: number;
}

export interface ChartResult {
  measuredAt: Date;
  figure: ChartFigure;
  window: HistoryWindow;
  chart: FigureChart;
  /** null when there is nothing to draw (no samples in the window). */
  image: ChartImage | null;
  /** HISTORY_INTERVAL=off: nothing is being sampled. */
  samplingOff: boolean;
  /** The oldest sample kept, when the history is shorter than the window. */
  historySince: Date | null;
}

const chartArgs = z
  .object({
    positional: z.array(z.string()),
    flags: onlyFlags({ since: sinceFlag }, (flag) => `has no option --${flag} (only --since D)`),
  })
  .transform((raw, ctx) => {
    const [figure, ...rest] = raw.positional;
    if (figure === undefined || !(CHART_FIGURES as readonly string[]).includes(figure) || rest.length > 0) {
      ctx.addIssue({ code: 'custom', message: `needs one figure: ${CHART_FIGURES.join(', ')}` });
      return z.NEVER;
    }
    return { figure: figure as ChartFigure, sinceMs: raw.flags.since?.ms ?? DAY_MS };
  });

export const chartHandler = defineHandler({
  name: 'chart',
  usage: `chart <${CHART_FIGURES.join('|')}> [--since D]`,
  summary: 'a PNG chart of a sampled figure over the last day (or D), with the status thresholds',
  args: chartArgs,
  async run({ figure, sinceMs }, ctx): Promise<ChartResult> {
    const window = historyWindow(ctx, sinceMs);
    const [rows, oldest] = await Promise.all([readHistory(ctx.state, window), oldestSample(ctx.state)]);
    const chart = figureChart(figure, rows, ctx.config.thresholds);
    const historySince = oldest !== null && oldest.at > window.from ? oldest.at : null;
    const result = { measuredAt: ctx.now(), figure, window, chart, image: null, samplingOff: ctx.config.history.intervalMs === null, historySince };
    if (chart.summary.points === 0) return result;
    const span = `${formatUtc(window.from)} – ${formatUtc(window.to)} UTC`;
    const rendered = await renderLineChart({
      title: `${chart.title}, last ${formatDuration(window.sinceMs)}`,
      subtitle: span,
      unit: chart.unit,
      series: chart.series,
      thresholds: chart.thresholds,
      yFrom: chart.yFrom,
      yCeiling: chart.yCeiling,
    });
    ctx.log.debug({ figure, points: chart.summary.points, renderMs: Math.round(rendered.renderMs), bytes: rendered.png.length }, 'chart rendered');
    return {
      ...result,
      image: {
        ...rendered,
        filename: `recipedb-${figure}-${window.to.toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-')}Z.png`,
        title: `${chart.title}, ${span}`,
        altText: `Line chart of ${chart.title.toLowerCase()} (${chart.unit}) from ${span}`,
      },
    };
  },
});

function formatUtc(date: Date): string {
  return date.toISOString().slice(0, 16).replace('T', ' ');
}
