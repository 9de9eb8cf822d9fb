// Rendering alone, in a fresh process, as the compiled bot renders (dist/charts/line-chart.js):
// the first chart (which loads ECharts, resvg and the fonts), then more, and the memory after 1,
// 10, 50 and 100 renders. Run with --expose-gc: the resident set is read as the pod sees it, then
// a full collection tells the live JS heap apart from what V8 and the native side merely keep.
// Prints one JSON line. Run by bench/chart.ts after the build.
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import { renderLineChart } from '../dist/charts/line-chart.js';

const STAGES = (process.argv[2] ?? '1,10,50,100').split(',').map(Number);
const gc = globalThis.gc;
if (typeof gc !== 'function') throw new Error('run with node --expose-gc');
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
const MB = 1024 ** 2;
function reading(renders) {
  const seen = process.memoryUsage();
  gc();
  const live = process.memoryUsage();
  return { renders, rssMb: seen.rss / MB, heapTotalMb: seen.heapTotal / MB, liveHeapMb: live.heapUsed / MB, externalMb: live.external / MB };
}

const before = reading(0);
const times = [];
let pngBytes = 0;
const stages = [];
for (let i = 1; i <= Math.max(...STAGES); i++) {
  // Back to the event loop between renders, as the bot does between commands: resvg's native
  // buffers are freed there (research/charts.md).
  await new Promise((resolve) => setImmediate(resolve));
  const t = performance.now();
  const chart = await renderLineChart(spec);
  times.push(performance.now() - t);
  pngBytes = chart.png.length;
  if (STAGES.includes(i)) stages.push(reading(i));
}
process.stdout.write(`${JSON.stringify({ firstMs: times[0], warm: times.slice(1), pngBytes, before, stages })}\n`);
