/**
 * Samples the operated database's key figures every HISTORY_INTERVAL into the state database,
 * once across replicas (state/history-samples.ts), and keeps the history small
 * (state/history-downsample.ts). Every replica ticks on the interval's boundaries; the one whose
 * claim of the slot wins samples it.
 *
 *   const sampler = startHistorySampler(services, { intervalMs: 60_000 }); // src/jobs/start-jobs.ts
 *   await sampler.tick(new Date('2026-01-15T10:31:00Z')); // what the timer does; tests drive it
 *   await sampler.stop();
 */
import type { Services } from '../context.js';
import { describeFailure } from '../ops/failure.js';
import { createScrubber } from '../redact.js';
import { downsampleHistory } from '../state/history-downsample.js';
import { claimHistorySlot, previousCounters, recordSample, recordSampleFailure } from '../state/history-samples.js';
import { startClockTimer } from './clock-timer.js';
import { takeHistorySample } from './history-sample.js';

export type HistoryTick =
  | { kind: 'idle' }
  | { kind: 'claimed-elsewhere'; slot: Date }
  | { kind: 'sampled'; slot: Date }
  | { kind: 'failed'; slot: Date; reason: string };

export interface HistorySampler {
  tick(now?: Date): Promise<HistoryTick>;
  stop(): Promise<void>;
}

export interface HistorySamplerOptions {
  intervalMs: number;
  /** This replica, as written into history_samples.claimed_by. */
  instance?: string;
}

/** The sampler without its timer: `tick` is driven by the caller. */
export function createHistorySampler(services: Services, options: HistorySamplerOptions): HistorySampler {
  const { log, state, config } = services;
  const instance = options.instance ?? services.instance;
  const scrub = createScrubber(config.secrets);
  let settled = 0;
  let running: Promise<HistoryTick> | undefined;
  let stopped = false;
  /** The last failure logged, so that a database down for an hour is one warning, not sixty. */
  let lastProblem: string | undefined;

  const problem = (what: string, error: unknown): string => {
    const reason = scrub(describeFailure(error));
    if (reason !== lastProblem) log.warn({ err: error }, `history: ${what}: ${reason}`);
    lastProblem = reason;
    return reason;
  };

  async function tickOnce(now: Date): Promise<HistoryTick> {
    const slot = new Date(Math.floor(now.getTime() / options.intervalMs) * options.intervalMs);
    if (slot.getTime() <= settled) return { kind: 'idle' };
    let won: boolean;
    try {
      won = await claimHistorySlot(state, { slot, bucketS: Math.round(options.intervalMs / 1000), claimedBy: instance });
    } catch (error) {
      // Nothing claimed: the next tick tries its own slot.
      return { kind: 'failed', slot, reason: problem('could not claim a sample slot in the state database', error) };
    }
    settled = slot.getTime();
    if (!won) return { kind: 'claimed-elsewhere', slot };
    try {
      const figures = await takeHistorySample(services.db, await previousCounters(state, slot), now);
      await recordSample(state, slot, figures);
      lastProblem = undefined;
    } catch (error) {
      const reason = problem('could not sample the database', error);
      await recordSampleFailure(state, slot, reason).catch(() => undefined);
      return { kind: 'failed', slot, reason };
    }
    // Only the replica that sampled: once per slot, and never two at once (the pass's own lock).
    await downsampleHistory(state, { now, retentionMs: config.history.retentionMs }).catch((error: unknown) => {
      problem('could not downsample the history', error);
    });
    return { kind: 'sampled', slot };
  }

  return {
    async tick(now = services.now()) {
      if (running || stopped || services.lifecycle.draining) return { kind: 'idle' };
      running = tickOnce(now);
      try {
        return await running;
      } finally {
        running = undefined;
      }
    },
    async stop() {
      stopped = true;
      await running?.catch(() => undefined);
    },
  };
}

/** The sampler with its timer: a tick now, then one on every interval boundary. */
export function startHistorySampler(services: Services, options: HistorySamplerOptions): HistorySampler {
  const sampler = createHistorySampler(services, options);
  const timer = startClockTimer({ everyMs: options.intervalMs, now: services.now, tick: () => void sampler.tick() });
  return {
    tick: (now) => sampler.tick(now),
    async stop() {
      timer.stop();
      await sampler.stop();
    },
  };
}
