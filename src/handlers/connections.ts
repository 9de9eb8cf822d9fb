/** `connections`: who holds the connection slots, and the sessions idle in a transaction longest. */
import { readConnectionUsage, type ConnectionUsage } from '../ops/postgres/connections.js';
import { defineHandler, noArgs } from './handler.js';

export interface ConnectionsResult {
  measuredAt: Date;
  usage: ConnectionUsage;
}

export const connectionsHandler = defineHandler({
  name: 'connections',
  usage: 'connections',
  summary: 'connections by state and by client against max_connections; the longest idle-in-transaction sessions',
  args: noArgs,
  async run(_args, ctx): Promise<ConnectionsResult> {
    const usage = await readConnectionUsage(ctx.db);
    return { measuredAt: ctx.now(), usage };
  },
});
