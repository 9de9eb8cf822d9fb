/**
 * The timer of the jobs that work in slots (the backup schedulers, the history sampler): a tick
 * now, then one on every boundary of `everyMs` on the clock (10:31:00, 10:31:30, …), so that all
 * replicas tick the same slot at about the same moment. A tick is not awaited: a long backup must
 * not hold up the timer (its job answers "busy" meanwhile).
 *
 *   const timer = startClockTimer({ everyMs: 30_000, now: services.now, tick: () => void scheduler.tick() });
 *   timer.stop();
 */
export interface ClockTimer {
  stop(): void;
}

export interface ClockTimerOptions {
  everyMs: number;
  /** The clock the boundaries are on. */
  now: () => Date;
  tick: () => void;
}

export function startClockTimer({ everyMs, now, tick }: ClockTimerOptions): ClockTimer {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (): void => {
    if (stopped) return;
    const at = now().getTime();
    timer = setTimeout(() => {
      tick();
      arm();
    }, Math.floor(at / everyMs + 1) * everyMs - at);
    timer.unref();
  };
  tick();
  arm();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
