/**
 * Role names as this bot handles them. PostgreSQL folds unquoted names to lower case and keeps
 * quoted ones as typed, so `Recipe_API` and `recipe_api` can be two different roles: the bot
 * always quotes, compares names exactly, and creates only names that read the same either way.
 *
 *   isRoleName('recipe_api')          // true: any existing role may be named like this
 *   newRoleNameProblem('Alice')       // 'role names the bot creates are lower case …'
 *   newRoleNameProblem('reporting')   // undefined
 */

/** What an existing role (MANAGED_USERS, `user rotate-password`) may be called here. */
const ROLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
/** What `user create` makes: lower case, so that quoted and unquoted SQL name the same role. */
const NEW_ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Names PostgreSQL reserves for roles (CREATE ROLE refuses them) or keeps for itself. */
const RESERVED = new Set(['public', 'none', 'current_role', 'current_user', 'session_user']);

export function isRoleName(name: string): boolean {
  return ROLE_NAME.test(name);
}

/** Why `user create <name>` may not make this role, in one sentence; undefined when it may. */
export function newRoleNameProblem(name: string): string | undefined {
  const shown = `\`${name.slice(0, 64)}\``;
  if (/["';\\\s]/.test(name)) return `${shown} is not a role name: quotes, semicolons, backslashes and spaces are not allowed (use lower-case letters, digits and _)`;
  if (name.length > 63) return `${shown} is longer than PostgreSQL's 63-character limit for role names`;
  if (/[A-Z]/.test(name) && NEW_ROLE_NAME.test(name.toLowerCase())) {
    return `role names the bot creates are lower case (unquoted SQL would read ${shown} as \`${name.toLowerCase()}\`, a different role): use \`${name.toLowerCase()}\``;
  }
  if (!NEW_ROLE_NAME.test(name)) return `${shown} is not a role name the bot creates: use lower-case letters, digits and _, starting with a letter or _`;
  // Its Secret is named for it, and a Secret name cannot end with the `-` that `_` becomes.
  if (name.endsWith('_')) return `${shown} ends with _, which its Secret's name cannot: drop the trailing _`;
  if (name.startsWith('pg_')) return `${shown} starts with pg_, which PostgreSQL reserves for its own roles`;
  if (RESERVED.has(name)) return `${shown} is a name PostgreSQL reserves; it cannot be a role`;
  if (name === 'postgres') return `${shown} is the database's superuser (the official image's POSTGRES_USER): the bot never creates or changes it`;
  return undefined;
}
