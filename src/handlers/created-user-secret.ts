/**
 * The Secret `user create` writes a new user's password into: in the database's namespace, named
 * for the role (`_` becomes `-`, as Secret names allow no `_`), with the keys `username` and
 * `password`, so that a pod reads it with `secretKeyRef { name, key: password }`.
 *
 *   createdUserSecretName('reporting_ro') // 'recipedb-user-reporting-ro'
 */
export const CREATED_USER_SECRET_PREFIX = 'recipedb-user-';
export const CREATED_USER_KEYS = { username: 'username', password: 'password' } as const;

export function createdUserSecretName(role: string): string {
  return `${CREATED_USER_SECRET_PREFIX}${role.replaceAll('_', '-')}`;
}
