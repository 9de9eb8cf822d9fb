/** What an approved volume expansion carries: the claim, its storage class, and the size from → to as planned. */
import { z } from 'zod';

export const storageExpandPlan = z.object({
  namespace: z.string().min(1),
  pvc: z.string().min(1),
  storageClass: z.string().min(1),
  from: z.string().min(1),
  fromBytes: z.number().positive(),
  to: z.string().min(1),
  toBytes: z.number().positive(),
});
export type StorageExpandPlan = z.infer<typeof storageExpandPlan>;
