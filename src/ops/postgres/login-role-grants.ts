/**
 * What `user create` runs, as the runbook's "Creating Application Users" does it (CONNECT, USAGE
 * on the schema, SELECT/INSERT/UPDATE/DELETE on all its tables, USAGE/SELECT on its sequences;
 * read-only: SELECT only) plus ALTER DEFAULT PRIVILEGES, so that tables and sequences created
 * later in the schema are covered too. Checked first, read-only: a GRANT the bot may not make is
 * only a WARNING in PostgreSQL ("no privileges were granted"), so every one is checked up front.
 *
 *   const grants = await planLoginRoleGrants(pool, { role: 'reporting', schemas: ['recipe_manager'], readOnly: true });
 *   grants.problems   // [] or ["the bot's role … may not grant SELECT on recipe_manager.reviews …"]
 *   grants.statements // ['GRANT CONNECT ON DATABASE "recipe_database" TO "reporting"', …]
 *   createRoleStatement('reporting', verifier) // 'CREATE ROLE "reporting" LOGIN … PASSWORD '<verifier>''
 */
import type pg from 'pg';
import { quoteIdent } from './quote-ident.js';
import { passwordClause } from './role-password.js';

export interface LoginRoleGrants {
  database: string;
  /** The bot's role. */
  grantor: string;
  statements: string[];
  /** Per schema: its tables and sequences now, and the roles whose future objects the default privileges cover. */
  schemas: { schema: string; tables: number; sequences: number; creators: string[] }[];
  /** Why the grants cannot all be made, one sentence each; empty when they can. */
  problems: string[];
}

/** The runbook's grants; read-only is SELECT alone. */
export function privilegesFor(readOnly: boolean): { tables: string[]; sequences: string[] } {
  return readOnly ? { tables: ['SELECT'], sequences: ['SELECT'] } : { tables: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], sequences: ['USAGE', 'SELECT'] };
}

export async function planLoginRoleGrants(pool: pg.Pool, request: { role: string; schemas: string[]; readOnly: boolean }): Promise<LoginRoleGrants> {
  const { role, schemas, readOnly } = request;
  const { tables: tablePrivileges, sequences: sequencePrivileges } = privilegesFor(readOnly);
  const me = await pool.query<{ me: string; database: string; superuser: boolean; createrole: boolean; can_connect: boolean }>(
    `SELECT current_user AS me, current_database() AS database, r.rolsuper AS superuser, r.rolcreaterole AS createrole,
            has_database_privilege(current_database(), 'CONNECT WITH GRANT OPTION') AS can_connect
     FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const bot = me.rows[0];
  if (bot === undefined) throw new Error('the database did not say who the bot is');
  const problems: string[] = [];
  if (!bot.superuser && !bot.createrole) problems.push(`the bot's role ${bot.me} lacks CREATEROLE, which creating a role needs (ALTER ROLE ${bot.me} CREATEROLE)`);
  if (!bot.can_connect) {
    problems.push(`the bot's role ${bot.me} may not grant CONNECT on the database ${bot.database} (GRANT CONNECT ON DATABASE ${bot.database} TO ${bot.me} WITH GRANT OPTION)`);
  }
  const planned: LoginRoleGrants['schemas'] = [];

  for (const schema of schemas) {
    const found = await pool.query<{ owner: string; usage: boolean }>(
      `SELECT pg_get_userbyid(nspowner) AS owner, has_schema_privilege(oid, 'USAGE WITH GRANT OPTION') AS usage FROM pg_namespace WHERE nspname = $1`,
      [schema],
    );
    const info = found.rows[0];
    if (info === undefined) {
      problems.push(`the schema ${schema} does not exist in ${bot.database}`);
      continue;
    }
    if (!info.usage) problems.push(`the bot's role ${bot.me} may not grant USAGE on the schema ${schema} (it neither owns it nor holds USAGE WITH GRANT OPTION)`);
    const objects = await pool.query<{ name: string; kind: string; owner: string; missing: string[] }>(
      `SELECT c.relname AS name, c.relkind AS kind, pg_get_userbyid(c.relowner) AS owner,
              ARRAY(SELECT p FROM unnest(CASE WHEN c.relkind = 'S' THEN $2::text[] ELSE $3::text[] END) p
                    WHERE NOT CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(c.oid, p || ' WITH GRANT OPTION')
                                   ELSE has_table_privilege(c.oid, p || ' WITH GRANT OPTION') END) AS missing
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
       ORDER BY c.relname`,
      [schema, sequencePrivileges, tablePrivileges],
    );
    for (const o of objects.rows.filter((x) => x.missing.length > 0)) {
      problems.push(`the bot's role ${bot.me} may not grant ${o.missing.join(', ')} on ${schema}.${o.name} (owned by ${o.owner}; it neither owns it nor holds the privilege WITH GRANT OPTION)`);
    }
    // Future objects are created by whoever creates them now (the owners), and by the schema's owner.
    const creators = [...new Set([info.owner, ...objects.rows.map((o) => o.owner)])].sort();
    const reachable = await pool.query<{ creator: string; ok: boolean }>(
      `SELECT c AS creator, pg_has_role(current_user, c, 'USAGE') AS ok FROM unnest($1::text[]) c`,
      [creators],
    );
    for (const r of reachable.rows.filter((x) => !x.ok)) {
      problems.push(`the bot's role ${bot.me} may not set default privileges for what ${r.creator} creates in ${schema} (only for its own roles: GRANT ${r.creator} TO ${bot.me})`);
    }
    planned.push({
      schema,
      tables: objects.rows.filter((o) => o.kind !== 'S').length,
      sequences: objects.rows.filter((o) => o.kind === 'S').length,
      creators,
    });
  }
  const statements = loginRoleStatements({ role, readOnly, database: bot.database, schemas: planned });
  return { database: bot.database, grantor: bot.me, statements, schemas: planned, problems };
}

/** The GRANTs and default privileges of a new login role, after its CREATE ROLE (in the same transaction). */
export function loginRoleStatements(request: { role: string; readOnly: boolean; database: string; schemas: { schema: string; creators: string[] }[] }): string[] {
  const privileges = privilegesFor(request.readOnly);
  const tablePrivileges = privileges.tables.join(', ');
  const sequencePrivileges = privileges.sequences.join(', ');
  const r = quoteIdent(request.role);
  return [
    `GRANT CONNECT ON DATABASE ${quoteIdent(request.database)} TO ${r}`,
    ...request.schemas.flatMap(({ schema, creators }) => {
      const s = quoteIdent(schema);
      return [
        `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
        `GRANT ${tablePrivileges} ON ALL TABLES IN SCHEMA ${s} TO ${r}`,
        `GRANT ${sequencePrivileges} ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`,
        ...creators.flatMap((creator) => [
          `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(creator)} IN SCHEMA ${s} GRANT ${tablePrivileges} ON TABLES TO ${r}`,
          `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(creator)} IN SCHEMA ${s} GRANT ${sequencePrivileges} ON SEQUENCES TO ${r}`,
        ]),
      ];
    }),
  ];
}

/** A plain login role: no superuser, no role or database creation, the password as a verifier. */
export function createRoleStatement(role: string, verifier: string): string {
  return `CREATE ROLE ${quoteIdent(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS ${passwordClause(verifier)}`;
}
