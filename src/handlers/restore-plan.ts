/** What an approved restore carries: the backup exactly as checked, and the application it stops. */
import { z } from 'zod';
import { BACKUP_FILE_PATTERN } from '../ops/backup/backup-name.js';

export const restorePlan = z.object({
  name: z.string().regex(BACKUP_FILE_PATTERN),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  sizeBytes: z.number().int().min(0),
  app: z.object({ namespace: z.string().min(1), deployment: z.string().min(1) }),
});
export type RestorePlan = z.infer<typeof restorePlan>;
