/** The Home runs handlers for someone who is in no channel and watches no progress. */
import type { Services } from '../context.js';
import type { HandlerContext } from './handler.js';

export function homeContext(services: Services, userId: string): HandlerContext {
  return { ...services, actor: { userId, channelId: '' }, commands: [], progress: async () => undefined };
}
