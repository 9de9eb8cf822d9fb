/**
 * Memory of one process as Linux accounts it (/proc/<pid>/status): VmRSS now, VmHWM the peak
 * resident set over the process's whole life, which no sampling interval can miss.
 *
 *   const sampler = sampleMemory(pid, 100);
 *   …
 *   const { peakKb, samples } = await sampler.stop();
 */
import { readFile } from 'node:fs/promises';

export interface MemoryReading {
  rssKb: number;
  hwmKb: number;
}

export async function readMemory(pid: number): Promise<MemoryReading> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (match === null) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(match[1]);
  };
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
}

export interface MemorySample {
  /** Milliseconds since sampling started. */
  ms: number;
  rssKb: number;
}

export interface MemorySampler {
  /** Marks a moment (start of a backup…) so that the curve can be read against it. */
  mark(label: string): void;
  stop(): Promise<{ samples: MemorySample[]; marks: { label: string; ms: number }[]; last: MemoryReading }>;
}

export function sampleMemory(pid: number, intervalMs: number): MemorySampler {
  const started = performance.now();
  const samples: MemorySample[] = [];
  const marks: { label: string; ms: number }[] = [];
  let reading: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    reading = readMemory(pid).then(
      (m) => void samples.push({ ms: Math.round(performance.now() - started), rssKb: m.rssKb }),
      () => undefined,
    );
  }, intervalMs);
  return {
    mark(label) {
      marks.push({ label, ms: Math.round(performance.now() - started) });
    },
    async stop() {
      clearInterval(timer);
      await reading;
      return { samples, marks, last: await readMemory(pid) };
    },
  };
}
