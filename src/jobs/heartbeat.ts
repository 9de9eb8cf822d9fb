/**
 * This replica's heartbeat in the state database (state/replicas.ts says what it is for): a beat
 * at start, then every `everyMs`; on stop it leaves, so whatever it still claims is free at once.
 *
 *   const heartbeat = await startHeartbeat(pool, { instance, everyMs: 15_000, log }); // src/jobs/start-jobs.ts
 *   … await heartbeat.stop();
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { beat, forgetLongGone, leave } from '../state/replicas.js';

export interface Heartbeat {
  stop(): Promise<void>;
}

/** A missed beat is logged, never fatal. */
export async function startHeartbeat(pool: pg.Pool, options: { instance: string; everyMs: number; log: Logger }): Promise<Heartbeat> {
  const { instance, everyMs, log } = options;
  await beat(pool, instance);
  await forgetLongGone(pool);
  const timer = setInterval(() => {
    beat(pool, instance).catch((error: unknown) => log.warn({ err: error }, 'could not record the heartbeat in the state database'));
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await leave(pool, instance).catch((error: unknown) => log.warn({ err: error }, 'could not record in the state database that this replica left'));
    },
  };
}
