/**
 * Memory of one process as Linux accounts it (/proc/<pid>/status): VmRSS now, VmHWM the peak
 * resident set over the process's whole life, which no sampling interval can miss.
 *
 *   const sampler = sampleMemory(pid, 100);
 *   …
 *   const { peakKb, samples } = await sampler.stop();
 */
import { readdir, readFile } from 'node:fs/promises';

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

/** The processes whose parent is `pid`, with their command lines. */
export async function childProcesses(pid: number): Promise<{ pid: number; cmdline: string[] }[]> {
  const found: { pid: number; cmdline: string[] }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // The command name (2nd field) may hold spaces and parentheses: the fields after it start after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').filter(Boolean);
      found.push({ pid: Number(entry), cmdline });
    } catch {
      // It exited while we looked.
    }
  }
  return found;
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
