// Rendering alone, in a fresh process, as the compiled bot renders (dist/charts/line-chart.js):
// the first chart (which loads ECharts, resvg and the fonts), then warm ones, and the resident
// memory each stage adds. Prints one JSON line. Run by bench/chart.ts after the build.
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import { renderLineChart } from '../dist/charts/line-chart.js';

const WARM = Number(process.argv[2] ?? 20);
const start = Date.UTC(2026, 0, 15, 0, 0, 0);
const points = (f) => Array.from({ length: 1440 }, (_, i) => [start + i * 60_000, f(i)]);
const spec = {
  title: 'Connections, last 1d',
  subtitle: '2026-01-15 00:00 – 2026-01-16 00:00 UTC',
  unit: 'connections',
  series: [
    { name: 'total', points: points((i) => 80 + 50 * Math.sin(i / 200)) },
    { name: 'active', points: points((i) => 20 + 10 * Math.sin(i / 150)) },
    { name: 'idle in transaction', points: points((i) => (i % 97 === 0 ? 4 : 0)) },
  ],
  thresholds: [{ value: 160, label: '80% of max_connections (160 of 200)' }],
};
const rssMb = () => process.memoryUsage().rss / 1024 ** 2;
const before = rssMb();
let t = performance.now();
const first = await renderLineChart(spec);
const firstMs = performance.now() - t;
const afterFirst = rssMb();
const warm = [];
for (let i = 0; i < WARM; i++) {
  // Back to the event loop between renders: resvg's native buffers are freed there (research/charts.md).
  await new Promise((resolve) => setImmediate(resolve));
  t = performance.now();
  await renderLineChart(spec);
  warm.push(performance.now() - t);
}
const afterWarm = rssMb();
process.stdout.write(`${JSON.stringify({ firstMs, warm, pngBytes: first.png.length, rssBeforeMb: before, rssAfterFirstMb: afterFirst, rssAfterWarmMb: afterWarm })}\n`);
