/**
 * PNG line charts without a browser and without system libraries or fonts: ECharts draws the SVG
 * on the server, resvg rasterizes it with the DejaVu fonts from node_modules (research:
 * /work/research/charts.md, measured on Node 20).
 *
 *   const chart = await renderLineChart({ title: 'Connections', unit: 'connections', series, thresholds });
 *   chart.png; // Buffer, 1000×450 by default
 *
 * Times are epoch milliseconds and drawn in UTC whatever the process's TZ. A `null` value is a gap
 * (no sample then): the line breaks instead of bridging it.
 */
import { createRequire } from 'node:module';
import type * as Echarts from 'echarts';
import type { EChartsOption } from 'echarts';
import type * as ResvgModule from '@resvg/resvg-js';

const require = createRequire(import.meta.url);

export interface ChartSeries {
  name: string;
  points: [number, number | null][];
}

export interface ChartThreshold {
  value: number;
  label: string;
}

export interface LineChartSpec {
  title: string;
  /** A second, smaller line under the title (the time span). */
  subtitle?: string;
  /** The y axis' name, units included: "connections", "transactions/s", "%", "MB". */
  unit: string;
  series: ChartSeries[];
  thresholds?: ChartThreshold[];
  /** 'zero' (default): the axis starts at 0; 'data': at a round value under the lowest point (cache hit near 100%). */
  yFrom?: 'zero' | 'data';
  /** An upper bound the axis never passes (100 for a percentage). */
  yCeiling?: number;
  width?: number;
  height?: number;
}

export interface RenderedChart {
  png: Buffer;
  width: number;
  height: number;
  /** Wall time of building the SVG and rasterizing it, for the bench and the log. */
  renderMs: number;
}

export const DEFAULT_CHART_SIZE = { width: 1000, height: 450 } as const;

const FONT_FAMILY = 'DejaVu Sans';
// Colour-blind-safe enough and distinct in grey scale; ECharts 6's default palette has a lime green.
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b'];
const THRESHOLD_COLOR = '#d62728';

type EchartsModule = typeof Echarts;

// Loaded on first use: the CommonJS bundle loads in ~100 ms where `import 'echarts'` takes 0.5–0.9 s
// (some 700 ESM files), and a bot that never draws a chart never pays for either.
let modules: { echarts: EchartsModule; resvg: typeof ResvgModule; fonts: string[] } | undefined;
function loadModules(): NonNullable<typeof modules> {
  modules ??= {
    echarts: require('echarts') as EchartsModule,
    resvg: require('@resvg/resvg-js') as typeof ResvgModule,
    // Bold too: without it the bold title is drawn in the regular face. resvg reads TTF/OTF only.
    fonts: [require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'), require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf')],
  };
  return modules;
}

// One render at a time per process: each holds some 20 MB of resvg's native memory and leaves
// ~20 MB of garbage, so several people charting at once would stack them against the pod's limit.
// Renders take tens of milliseconds: waiting in line costs less than the memory.
let queue: Promise<unknown> = Promise.resolve();

export function renderLineChart(spec: LineChartSpec): Promise<RenderedChart> {
  const turn = queue.then(() => render(spec));
  queue = turn.catch(() => undefined);
  return turn;
}

async function render(spec: LineChartSpec): Promise<RenderedChart> {
  const started = performance.now();
  const { resvg, fonts } = loadModules();
  const svg = lineChartSvg(spec);
  // Rasterized off the event loop (libuv's pool): other commands keep being acknowledged meanwhile.
  const image = await resvg.renderAsync(svg, {
    // Missing fonts fail silently (no text at all): never fall back to whatever the system has.
    font: { fontFiles: fonts, loadSystemFonts: false, defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
    logLevel: 'error',
  });
  const png = image.asPng();
  return { png, width: image.width, height: image.height, renderMs: performance.now() - started };
}

/** The chart as SVG markup (what renderLineChart rasterizes). */
export function lineChartSvg(spec: LineChartSpec): string {
  const { echarts } = loadModules();
  const width = spec.width ?? DEFAULT_CHART_SIZE.width;
  const height = spec.height ?? DEFAULT_CHART_SIZE.height;
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption(chartOption(spec));
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

function chartOption(spec: LineChartSpec): EChartsOption {
  const thresholds = spec.thresholds ?? [];
  const y = yAxisRange(spec);
  const below = spec.subtitle ? 20 : 0;
  return {
    animation: false,
    // Labels in UTC whatever TZ the process runs in; the axis says so.
    useUTC: true,
    backgroundColor: '#ffffff',
    color: PALETTE,
    textStyle: { fontFamily: FONT_FAMILY },
    title: {
      text: spec.title,
      subtext: spec.subtitle ?? '',
      left: 'center',
      top: 8,
      itemGap: 6,
      textStyle: { fontSize: 16, fontWeight: 'bold' },
      subtextStyle: { fontSize: 12, color: '#555555' },
    },
    legend: { top: 34 + below, icon: 'roundRect', itemHeight: 4, itemGap: 24 },
    grid: { left: 80, right: 32, top: 70 + below, bottom: 56 },
    xAxis: {
      type: 'time',
      name: 'time (UTC)',
      nameLocation: 'middle',
      nameGap: 32,
      axisLabel: {
        hideOverlap: true,
        // ECharts' default shows a bare "10" or "2026" at day and year boundaries.
        formatter: { year: '{yyyy}-{MM}-{dd}', month: '{MMM} {d}', day: '{MMM} {d}', hour: '{HH}:{mm}', minute: '{HH}:{mm}', second: '{HH}:{mm}:{ss}' },
      },
    },
    yAxis: {
      type: 'value',
      min: y.min,
      max: y.max,
      interval: y.interval,
      name: spec.unit,
      nameLocation: 'middle',
      nameGap: 56,
      splitLine: { lineStyle: { color: '#eeeeee' } },
    },
    series: spec.series.map((s, i) => ({
      name: s.name,
      type: 'line',
      showSymbol: s.points.length < 3,
      connectNulls: false,
      // At most about one point per pixel column is drawn (largest-triangle sampling keeps the spikes).
      sampling: 'lttb',
      lineStyle: { width: 1.5 },
      data: s.points,
      ...(i === 0 && thresholds.length > 0
        ? {
            markLine: {
              symbol: 'none',
              silent: true,
              data: thresholds.map((t) => ({
                yAxis: t.value,
                label: { formatter: t.label, position: 'insideEndTop', color: THRESHOLD_COLOR },
                lineStyle: { type: 'dashed', width: 1.5, color: THRESHOLD_COLOR },
              })),
            },
          }
        : {}),
    })),
  } as EChartsOption;
}

/**
 * A round axis that holds the data and the thresholds: ECharts leaves markLines out of the axis
 * extent, so a threshold above the data would sit on the top edge (or off the chart).
 */
export function yAxisRange(spec: Pick<LineChartSpec, 'series' | 'thresholds' | 'yFrom' | 'yCeiling'>): { min: number; max: number; interval: number } {
  const values = [...spec.series.flatMap((s) => s.points.map((p) => p[1])), ...(spec.thresholds ?? []).map((t) => t.value)].filter(
    (v): v is number => v !== null && Number.isFinite(v),
  );
  const high = Math.max(0, ...values);
  const low = spec.yFrom === 'data' && values.length > 0 ? Math.min(...values) : 0;
  const span = Math.max(high - low, Math.abs(high) * 0.01, 1e-9);
  const step = niceStep((span * 1.1) / 5);
  const min = spec.yFrom === 'data' ? Math.max(0, Math.floor((low - span * 0.05) / step) * step) : 0;
  let max = Math.ceil((high + span * 0.05) / step) * step;
  if (max <= min) max = min + step;
  if (spec.yCeiling !== undefined) max = Math.min(max, spec.yCeiling);
  return { min: round(min, step), max: round(max, step), interval: step };
}

function niceStep(raw: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
}

/** Floating-point residue off (0.30000000000000004 → 0.3), to the step's precision. */
function round(value: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  return Number(value.toFixed(digits));
}
