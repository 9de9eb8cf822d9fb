/**
 * The `--since D` of `chart` and `growth`: how far back to look, never past what the history keeps.
 *
 *   const window = historyWindow(ctx, args.sinceMs ?? DAY_MS); // { from, to, sinceMs, clamped }
 */
import type { Services } from '../context.js';
import { durationFlag } from './args.js';

export const sinceFlag = durationFlag('needs a duration after --since, like 6h, 7d or 30d');

export interface HistoryWindow {
  from: Date;
  to: Date;
  sinceMs: number;
  /** The asked-for window was longer than HISTORY_RETENTION and was cut to it. */
  clamped: boolean;
}

export function historyWindow(services: Pick<Services, 'now' | 'config'>, sinceMs: number): HistoryWindow {
  const to = services.now();
  const kept = services.config.history.retentionMs;
  const shown = Math.min(sinceMs, kept);
  return { from: new Date(to.getTime() - shown), to, sinceMs: shown, clamped: shown < sinceMs };
}
