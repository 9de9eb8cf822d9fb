/**
 * Which roles `user rotate-password` may touch, and where each one's password lives: the
 * MANAGED_USERS of the configuration, then the users the bot created (state database). Names are
 * compared exactly, as PostgreSQL compares quoted names.
 *
 *   await findRotationTarget(ctx, 'recipe_api')
 *   // { role: 'recipe_api', source: 'MANAGED_USERS', secret: { namespace: 'recipe-database', name: 'recipe-database-secret', key: 'API_PASSWORD' } }
 */
import type { Services } from '../context.js';
import { findCreatedUser, listCreatedUsers } from '../state/created-users.js';
import type { PasswordRotationPlan } from './user-plans.js';

export type RotationTarget = Pick<PasswordRotationPlan, 'role' | 'source' | 'secret'>;

export async function findRotationTarget(services: Services, role: string): Promise<RotationTarget | null> {
  const managed = services.config.managedUsers.find((u) => u.role === role);
  if (managed) return { role, source: 'MANAGED_USERS', secret: { namespace: managed.namespace, name: managed.secret, key: managed.key } };
  const created = await findCreatedUser(services.state, role);
  if (created) return { role, source: 'created', secret: { namespace: created.namespace, name: created.secret, key: created.key } };
  return null;
}

/** Every role the bot may rotate, for the refusal that lists them. */
export async function rotatableRoles(services: Services): Promise<string[]> {
  const created = await listCreatedUsers(services.state);
  return [...new Set([...services.config.managedUsers.map((u) => u.role), ...created.map((u) => u.role)])].sort();
}
