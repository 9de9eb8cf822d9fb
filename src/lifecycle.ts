/**
 * The process's way out: on SIGTERM the bot stops taking work, lets what runs finish within a
 * grace period, then asks what is still running to stop (a backup removes its temporary file, a
 * restore rolls back and starts the application again) and waits a little for that cleanup.
 *
 *   const lifecycle = createLifecycle();
 *   lifecycle.track(runCommand());              // keeps the process up until it settles
 *   takeBackup({ …, signal: lifecycle.stopSignal });
 *   const { unfinished } = await lifecycle.drain({ graceMs: 25_000, cleanupMs: 10_000 });
 */

/** After the grace period, how long stopped work gets to clean up (remove a temp file, scale the app back). */
export const SHUTDOWN_CLEANUP_MS = 10_000;

export interface Lifecycle {
  /** True from the start of the drain: new work is refused. */
  readonly draining: boolean;
  /** Aborted when the grace period is over: long work stops and cleans up. */
  readonly stopSignal: AbortSignal;
  /** Runs `work` as tracked work; the drain waits for it. */
  track<T>(work: Promise<T>): Promise<T>;
  /** How many tracked pieces of work are running. */
  readonly running: number;
  /** Stops taking work and waits for it; `unfinished` counts what did not settle even after the stop signal. */
  drain(options: { graceMs: number; cleanupMs: number; onStopSignal?: (running: number) => void }): Promise<{ unfinished: number }>;
}

export function createLifecycle(): Lifecycle {
  const stop = new AbortController();
  const work = new Set<Promise<void>>();
  let draining = false;
  let drained: Promise<{ unfinished: number }> | undefined;

  /** Resolves true when all tracked work settled within ms, false at the deadline. */
  const settled = async (ms: number): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      // Work tracked while waiting (a listener that was already inside) is waited for as well.
      while (work.size > 0) {
        const done = await Promise.race([Promise.all([...work]).then(() => true as const), deadline]);
        if (!done) return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    get draining() {
      return draining;
    },
    stopSignal: stop.signal,
    get running() {
      return work.size;
    },
    track(promise) {
      // The entry never rejects: a failed piece of work is the caller's to handle, not the drain's.
      const entry: Promise<void> = promise.then(
        () => undefined,
        () => undefined,
      ).finally(() => work.delete(entry));
      work.add(entry);
      return promise;
    },
    drain({ graceMs, cleanupMs, onStopSignal }) {
      draining = true;
      drained ??= (async () => {
        if (await settled(graceMs)) return { unfinished: 0 };
        onStopSignal?.(work.size);
        stop.abort(new Error('the bot was shutting down'));
        await settled(cleanupMs);
        return { unfinished: work.size };
      })();
      return drained;
    },
  };
}
