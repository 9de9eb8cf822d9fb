/**
 * Changing a role's password the way SPEC section 11 wants it: the statement carries a
 * SCRAM-SHA-256 verifier the bot computed (scram-verifier.ts), never the password; and proving a
 * password by logging in with it, on a connection of its own to the operated database's server.
 *
 *   const rights = await readPasswordRights(pool, 'recipe_api'); // who the bot is, and what it may change
 *   await setRoleVerifier(pool, 'recipe_api', await scramSha256Verifier(password));
 *   await tryLogin(databaseUrl, { user: 'recipe_api', password }); // { ok: true } | { ok: false, code: '28P01', reason: … }
 */
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { describeFailure } from '../failure.js';
import { quoteIdent } from './quote-ident.js';
import { trackBotSession } from './bot-sessions.js';

export interface RoleState {
  name: string;
  superuser: boolean;
  login: boolean;
  validUntil: Date | null;
  expired: boolean;
}

export interface PasswordRights {
  /** The bot's own role (current_user). */
  user: string;
  superuser: boolean;
  createRole: boolean;
  serverVersionNum: number;
  /** The target role, or null when it does not exist. */
  target: RoleState | null;
  /** The bot holds ADMIN OPTION on the target (what PostgreSQL 16+ asks of a CREATEROLE role). */
  adminOption: boolean;
  /** Roles whose names differ from the target's only in case (`Recipe_API` beside `recipe_api`). */
  caseTwins: string[];
}

const VERIFIER = /^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}:[A-Za-z0-9+/]+={0,2}$/;

export async function readPasswordRights(pool: pg.Pool, role: string): Promise<PasswordRights> {
  const { rows } = await pool.query<{
    me: string; superuser: boolean; createrole: boolean; version: string; target: RoleState | null; admin: boolean; twins: string[];
  }>(
    `SELECT current_user AS me, me.rolsuper AS superuser, me.rolcreaterole AS createrole, current_setting('server_version_num') AS version,
            (SELECT json_build_object('name', r.rolname, 'superuser', r.rolsuper, 'login', r.rolcanlogin,
                                      'validUntil', CASE WHEN isfinite(r.rolvaliduntil) THEN r.rolvaliduntil END,
                                      'expired', coalesce(r.rolvaliduntil < now(), false))
             FROM pg_roles r WHERE r.rolname = $1) AS target,
            coalesce((SELECT pg_has_role(current_user, r.oid, 'MEMBER WITH ADMIN OPTION') FROM pg_roles r WHERE r.rolname = $1), false) AS admin,
            ARRAY(SELECT rolname::text FROM pg_roles WHERE lower(rolname) = lower($1) AND rolname <> $1 ORDER BY 1) AS twins
     FROM pg_roles me WHERE me.rolname = current_user`,
    [role],
  );
  const row = rows[0];
  if (row === undefined) throw new Error('the database did not say who the bot is');
  const target = row.target === null ? null : { ...row.target, validUntil: row.target.validUntil === null ? null : new Date(row.target.validUntil) };
  return {
    user: row.me,
    superuser: row.superuser,
    createRole: row.createrole,
    serverVersionNum: Number(row.version),
    target,
    adminOption: row.admin,
    caseTwins: row.twins,
  };
}

/** Why the bot may not change the target's password, as one sentence; undefined when it may. */
export function passwordChangeProblem(rights: PasswordRights): string | undefined {
  const target = rights.target;
  if (target === null || rights.superuser) return undefined;
  if (target.superuser) return `${target.name} is a superuser: only a superuser may change its password, and the bot's role ${rights.user} is not one`;
  if (!rights.createRole) return `the bot's role ${rights.user} lacks CREATEROLE, which changing another role's password needs (ALTER ROLE ${rights.user} CREATEROLE)`;
  if (rights.serverVersionNum >= 160000 && !rights.adminOption) {
    return `on PostgreSQL 16 and later CREATEROLE alone no longer lets ${rights.user} change ${target.name}'s password: GRANT ${target.name} TO ${rights.user} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`;
  }
  return undefined;
}

/** `PASSWORD '<verifier>'`: only a well-formed SCRAM verifier is ever sent (its characters need no quoting). */
export function passwordClause(verifier: string): string {
  if (!VERIFIER.test(verifier)) throw new Error('refusing to send a password that is not a SCRAM-SHA-256 verifier');
  return `PASSWORD '${verifier}'`;
}

export function rolePasswordStatement(role: string, verifier: string): string {
  return `ALTER ROLE ${quoteIdent(role)} ${passwordClause(verifier)}`;
}

export async function setRoleVerifier(db: pg.Pool | pg.ClientBase, role: string, verifier: string): Promise<void> {
  await db.query(rolePasswordStatement(role, verifier));
}

export type LoginResult = { ok: true } | { ok: false; code: string | null; reason: string };

/**
 * Logs in as `user` with `password` to the server and database of `databaseUrl` (its host, port,
 * database and TLS settings; its own credentials are dropped), then disconnects.
 */
export async function tryLogin(databaseUrl: string, login: { user: string; password: string; timeoutMs?: number }): Promise<LoginResult> {
  const target = parseIntoClientConfig(databaseUrl);
  const client = new pg.Client({
    ...target,
    user: login.user,
    password: login.password,
    connectionTimeoutMillis: login.timeoutMs ?? 5_000,
    application_name: 'recipedb-ops login check',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await trackBotSession(client);
    await client.query('SELECT 1');
    return { ok: true };
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    // The server's own sentence for a refused login names the pg_hba.conf problem; it holds no password.
    const reason = code === '28000' && typeof message === 'string' ? message.slice(0, 200) : describeFailure(error);
    return { ok: false, code: typeof code === 'string' ? code : null, reason };
  } finally {
    await client.end().catch(() => undefined);
  }
}
