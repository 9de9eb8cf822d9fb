/**
 * MANAGED_USERS (SPEC section 2): the database roles whose password the bot may rotate, each with
 * the Kubernetes Secret key that holds it, as `role=namespace/secret/key`, comma-separated.
 * `none` turns rotation of configured roles off (users the bot created can still be rotated).
 *
 *   parseManagedUsers('recipe_api=recipe-database/recipe-database-secret/API_PASSWORD')
 *   // [{ role: 'recipe_api', namespace: 'recipe-database', secret: 'recipe-database-secret', key: 'API_PASSWORD' }]
 *   parseManagedUsers('recipe_api=oops') // 'entry "recipe_api=oops" must be role=namespace/secret/key'
 */
import { isDnsLabel, isDnsSubdomain, isSecretKey } from './ops/kube/kube-names.js';
import { isRoleName } from './ops/postgres/role-name.js';

export interface ManagedUser {
  role: string;
  namespace: string;
  secret: string;
  key: string;
}

/** The suffix of the key that keeps the previous password while a rotation runs. */
export const PREVIOUS_KEY_SUFFIX = '_PREVIOUS';

/** The entries, or the problem with the first bad one (a sentence for ConfigError). */
export function parseManagedUsers(text: string): ManagedUser[] | string {
  if (text.trim().toLowerCase() === 'none') return [];
  const users: ManagedUser[] = [];
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const match = /^([^=]+)=([^/]+)\/([^/]+)\/([^/]+)$/.exec(entry);
    if (!match) return `entry "${entry.slice(0, 80)}" must be role=namespace/secret/key`;
    const [, role = '', namespace = '', secret = '', key = ''] = match;
    if (!isRoleName(role)) return `"${role.slice(0, 64)}" is not a role name (letters, digits, _ and $, at most 63)`;
    if (!isDnsLabel(namespace)) return `"${namespace}" is not a Kubernetes namespace name`;
    if (!isDnsSubdomain(secret)) return `"${secret}" is not a Kubernetes Secret name`;
    if (!isSecretKey(key)) return `"${key}" is not a Secret key (letters, digits, -, _ and .)`;
    if (key.endsWith(PREVIOUS_KEY_SUFFIX)) return `the key "${key}" ends with ${PREVIOUS_KEY_SUFFIX}, which the bot keeps for the previous password during a rotation`;
    if (users.some((u) => u.role === role)) return `the role ${role} is listed twice`;
    users.push({ role, namespace, secret, key });
  }
  return users;
}
