/** `locks`: who blocks whom, and the locks held and awaited by mode. */
import { readLockReport, type LockReport } from '../ops/postgres/locks.js';
import { defineHandler, noArgs } from './handler.js';

export interface LocksResult {
  measuredAt: Date;
  report: LockReport;
}

export const locksHandler = defineHandler({
  name: 'locks',
  usage: 'locks',
  summary: 'blocked queries and the sessions blocking them; locks by mode',
  args: noArgs,
  async run(_args, ctx): Promise<LocksResult> {
    const report = await readLockReport(ctx.db);
    return { measuredAt: ctx.now(), report };
  },
});
