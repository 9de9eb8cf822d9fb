/** What an approved `user create` and `user rotate-password` carry: the exact targets, no password. */
import { z } from 'zod';

const ref = z.object({ namespace: z.string().min(1), name: z.string().min(1) });

export const userCreatePlan = z.object({
  role: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/),
  readOnly: z.boolean(),
  database: z.string().min(1),
  schemas: z.array(z.object({ schema: z.string().min(1), creators: z.array(z.string().min(1)) })),
  secret: ref.extend({ usernameKey: z.string().min(1), passwordKey: z.string().min(1) }),
});
export type UserCreatePlan = z.infer<typeof userCreatePlan>;

export const passwordRotationPlan = z.object({
  role: z.string().min(1),
  /** Where the bot learned that it manages this role. */
  source: z.enum(['MANAGED_USERS', 'created']),
  secret: ref.extend({ key: z.string().min(1) }),
  /** Restarted after the change, in this order. */
  restart: z.array(ref.extend({ why: z.string() })),
  /** Readers of the Secret the bot does not restart, with why; `byHand`: someone must restart it. */
  notRestarted: z.array(z.object({ what: z.string(), byHand: z.boolean() })),
});
export type PasswordRotationPlan = z.infer<typeof passwordRotationPlan>;
