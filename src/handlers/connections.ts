/** `connections`: who holds the connection slots, and the sessions idle in a transaction longest. */
import { readConnectionUsage, type ConnectionUsage } from '../ops/postgres/connections.js';
import { withOperatedSession } from '../ops/postgres/reserved-session.js';
import { defineHandler, noArgs } from './handler.js';

export interface ConnectionsResult {
  measuredAt: Date;
  usage: ConnectionUsage;
  /** Read over the bot's reserved session: the pool could not connect (no free slot). */
  viaReservedSession: boolean;
}

export const connectionsHandler = defineHandler({
  name: 'connections',
  usage: 'connections',
  summary: 'connections by state and by client against max_connections; the longest idle-in-transaction sessions',
  args: noArgs,
  async run(_args, ctx): Promise<ConnectionsResult> {
    return withOperatedSession(ctx.db, ctx.reserved, async ({ session, reserved }) => ({
      measuredAt: ctx.now(),
      usage: await readConnectionUsage(session),
      viaReservedSession: reserved,
    }));
  },
});
