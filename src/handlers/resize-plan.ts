/** What an approved resize carries: the container, and its requests and limits from → to as planned. */
import { z } from 'zod';

const quantities = z.object({ cpu: z.string().min(1).optional(), memory: z.string().min(1).optional() });
const resourcesSchema = z.object({ requests: quantities, limits: quantities });

export const resizePlan = z.object({
  namespace: z.string().min(1),
  deployment: z.string().min(1),
  container: z.string().min(1),
  from: resourcesSchema,
  to: resourcesSchema,
});
export type ResizePlan = z.infer<typeof resizePlan>;
