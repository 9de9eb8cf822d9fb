/** What an approved image update carries: the container, and its image (and digest) from → to as planned. */
import { z } from 'zod';

export const imagePlan = z.object({
  namespace: z.string().min(1),
  deployment: z.string().min(1),
  container: z.string().min(1),
  from: z.object({ image: z.string().min(1), digest: z.string().nullable() }),
  to: z.object({ image: z.string().min(1), digest: z.string().nullable(), version: z.string().min(1), major: z.number().int().positive() }),
});
export type ImagePlan = z.infer<typeof imagePlan>;
