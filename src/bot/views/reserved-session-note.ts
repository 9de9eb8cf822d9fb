import { context, type Block } from '../blocks.js';

/** Said when an answer came over the bot's reserved session: the server had no free slot for the pool. */
export function reservedSessionNote(viaReservedSession: boolean): Block[] {
  if (!viaReservedSession) return [];
  return [context([":warning: Answered over the bot's reserved session: the database has no free connection slot for new sessions."])];
}
