/**
 * The PNG charts: a real PNG of the stated size, decoded, with a drawn line, the threshold in its
 * colour and text where the title is (fonts come from node_modules, never from the system); the
 * axis holds the thresholds; times are UTC. And the sparkline the console and the Home tab show.
 */
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { lineChartSvg, renderLineChart, yAxisRange, type ChartSeries } from '../../src/charts/line-chart.js';
import { sparkline } from '../../src/charts/sparkline.js';

const START = Date.UTC(2026, 2, 10, 12, 0, 0);
const wave = (n: number, f: (i: number) => number | null): ChartSeries['points'] => Array.from({ length: n }, (_, i) => [START + i * 60_000, f(i)]);

const spec = {
  title: 'Connections, last 1d',
  subtitle: '2026-03-10 12:00 – 2026-03-11 12:00 UTC',
  unit: 'connections',
  series: [
    { name: 'total', points: wave(1_440, (i) => (i > 600 && i < 640 ? null : 100 + 60 * Math.sin(i / 200))) },
    { name: 'active', points: wave(1_440, (i) => 20 + 10 * Math.sin(i / 150)) },
  ],
  thresholds: [{ value: 180, label: '80% of max_connections (180 of 225)' }],
};

function decode(png: Buffer) {
  return PNG.sync.read(png);
}

/** Pixels within `tolerance` of the colour in the rectangle (whole picture by default). */
function count(image: PNG, match: (r: number, g: number, b: number) => boolean, box = { x0: 0, y0: 0, x1: image.width, y1: image.height }): number {
  let n = 0;
  for (let y = box.y0; y < box.y1; y++) {
    for (let x = box.x0; x < box.x1; x++) {
      const i = (y * image.width + x) * 4;
      if (match(image.data[i] ?? 0, image.data[i + 1] ?? 0, image.data[i + 2] ?? 0)) n++;
    }
  }
  return n;
}

describe('renderLineChart', () => {
  it('renders a valid PNG of the stated size whose pixels are not blank', async () => {
    const chart = await renderLineChart(spec);
    expect(chart.png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect([chart.width, chart.height]).toEqual([1000, 450]);
    const image = decode(chart.png);
    expect([image.width, image.height]).toEqual([1000, 450]);
    const inked = count(image, (r, g, b) => r < 250 || g < 250 || b < 250);
    expect(inked).toBeGreaterThan(5_000);
    // The first series' blue line, and the dashed red threshold line.
    expect(count(image, (r, g, b) => Math.abs(r - 0x1f) < 40 && Math.abs(g - 0x77) < 40 && Math.abs(b - 0xb4) < 40)).toBeGreaterThan(500);
    expect(count(image, (r, g, b) => r > 180 && g < 90 && b < 90)).toBeGreaterThan(200);
    // The title's band holds nothing but the title: dark pixels there are its letters.
    expect(count(image, (r, g, b) => r < 100 && g < 100 && b < 100, { x0: 250, y0: 0, x1: 750, y1: 30 })).toBeGreaterThan(150);
  });

  it('honours another size', async () => {
    const chart = await renderLineChart({ ...spec, width: 640, height: 320 });
    const image = decode(chart.png);
    expect([image.width, image.height]).toEqual([640, 320]);
  });

  it('renders one chart at a time, in the order asked, and a failed one does not hold up the next', async () => {
    const done: string[] = [];
    const ask = (name: string, size: { width: number; height: number }) =>
      renderLineChart({ ...spec, ...size }).then((chart) => {
        done.push(name);
        return decode(chart.png);
      });
    // At once, the small one would be finished long before the large one.
    const failed = renderLineChart({ ...spec, series: [{ name: 'broken', points: [[Number.NaN, Number.NaN]] }], width: -5, height: -5 }).then(
      () => done.push('broken'),
      () => done.push('broken failed'),
    );
    const [large, small] = await Promise.all([ask('large', { width: 2400, height: 1400 }), ask('small', { width: 200, height: 100 }), failed]);
    expect(done).toEqual(['broken failed', 'large', 'small']);
    expect([large.width, small.width]).toEqual([2400, 200]);
  });

  it('labels the axes with units and UTC times, and names the thresholds', () => {
    const svg = lineChartSvg(spec);
    expect(svg).toContain('time (UTC)');
    expect(svg).toContain('>connections<');
    expect(svg).toContain('80% of max_connections (180 of 225)');
    // The day boundary in UTC: 24:00 after 12:00 UTC is "Mar 11", and hours read as 16:00, 20:00…
    expect(svg).toContain('Mar 11');
    expect(svg).toMatch(/>(16|20):00</);
  });

  it('keeps the thresholds on the axis, and a percentage under 100', () => {
    expect(yAxisRange({ series: [{ name: 'x', points: [[0, 10], [1, 20]] }], thresholds: [{ value: 160, label: '' }] }).max).toBeGreaterThanOrEqual(160);
    const cache = yAxisRange({ series: [{ name: 'x', points: [[0, 98.5], [1, 99.9]] }], thresholds: [{ value: 95, label: '' }], yFrom: 'data', yCeiling: 100 });
    expect(cache.min).toBeLessThanOrEqual(95);
    expect(cache.min).toBeGreaterThan(50);
    expect(cache.max).toBe(100);
    expect(yAxisRange({ series: [{ name: 'x', points: [[0, null]] }] })).toMatchObject({ min: 0 });
  });
});

describe('sparkline', () => {
  it('draws the shape in one line, gaps as spaces, at most the width asked', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([3, null, 3])).toBe('▄ ▄');
    expect(sparkline([])).toBe('');
    const long = sparkline(Array.from({ length: 1_440 }, (_, i) => i), 48);
    expect([...long]).toHaveLength(48);
    expect(long.startsWith('▁')).toBe(true);
    expect(long.endsWith('█')).toBe(true);
  });
});
