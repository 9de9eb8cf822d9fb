/**
 * The permission audit of the runbook's "Permission Audits" and "Monitor privilege escalations",
 * read in one snapshot: every role with its attributes, memberships and password expiry; what each
 * login role may do on the application schemas; default privileges; grants to PUBLIC; and client
 * sessions running as a superuser right now.
 *
 *   const audit = await readRoleAudit(pool, { schemas: ['recipe_manager'] });
 *   audit.roles[0]               // { name: 'recipe_api', login: true, superuser: false, validUntil: null, memberOf: [], … }
 *   audit.reach[0]               // { role: 'recipe_api', schema: 'recipe_manager', usage: true, tables: 4, select: 4, … }
 *   audit.superuserSessions      // [{ pid: 4711, user: 'postgres', application: 'recipe-app', client: '10.244.1.7', … }]
 *
 * "Superuser" is the role's attribute, not the name `postgres`, and no application_name is
 * trusted to excuse a session (any client may call itself psql): every superuser client session
 * is listed, the bot's own (known by pid, bot-sessions.ts) marked as such.
 */
import type pg from 'pg';
import { withClient } from './pool.js';
import { botSessionPids } from './bot-sessions.js';

export interface RoleMembership {
  role: string;
  admin: boolean;
}

export type PasswordMethod = 'scram-sha-256' | 'md5' | 'none' | 'other';

export interface RoleInfo {
  name: string;
  superuser: boolean;
  createRole: boolean;
  createDb: boolean;
  login: boolean;
  replication: boolean;
  bypassRls: boolean;
  inherit: boolean;
  /** null: no limit (-1). */
  connectionLimit: number | null;
  /** The password's expiry (VALID UNTIL); null when it never expires. */
  validUntil: Date | null;
  expired: boolean;
  memberOf: RoleMembership[];
  /** How the password is stored; null when the bot may not read pg_authid (it is not a superuser). */
  password: PasswordMethod | null;
}

export interface SchemaReach {
  role: string;
  schema: string;
  canConnect: boolean;
  usage: boolean;
  create: boolean;
  tables: number;
  owned: number;
  select: number;
  insert: number;
  update: number;
  delete: number;
  truncate: number;
  sequences: number;
  sequenceUsage: number;
  sequenceUpdate: number;
}

export interface DefaultPrivilege {
  /** The role whose future objects get these grants (FOR ROLE). */
  creator: string;
  /** null: in every schema. */
  schema: string | null;
  objects: 'tables' | 'sequences' | 'functions' | 'types' | 'schemas';
  grantee: string;
  privileges: string[];
}

export interface SuperuserSession {
  pid: number;
  user: string;
  database: string | null;
  application: string;
  /** null: a local socket (inside the database's pod or host). */
  client: string | null;
  backendStart: Date;
  state: string | null;
  /** One of the bot's own sessions, by its pid (an application_name like the bot's proves nothing). */
  bot: boolean;
}

export interface RoleAudit {
  database: string;
  serverVersionNum: number;
  /** The role initdb created (oid 10): the one expected superuser (POSTGRES_USER in the official image). */
  bootstrapSuperuser: string;
  currentUser: string;
  schemas: string[];
  missingSchemas: string[];
  roles: RoleInfo[];
  reach: SchemaReach[];
  defaults: DefaultPrivilege[];
  /** What PUBLIC (every role, present and future) may do: `CONNECT on database recipe_database`. */
  publicGrants: string[];
  superuserSessions: SuperuserSession[];
}

const OBJECT_KINDS: Record<string, DefaultPrivilege['objects']> = { r: 'tables', S: 'sequences', f: 'functions', T: 'types', n: 'schemas' };

export async function readRoleAudit(pool: pg.Pool, options: { schemas: string[] }): Promise<RoleAudit> {
  return withClient(pool, async (client) => {
    // One snapshot: the roles, their reach and the sessions agree with each other.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      return await readAll(client, options.schemas);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
    }
  });
}

async function readAll(client: pg.ClientBase, wanted: string[]): Promise<RoleAudit> {
  const server = await client.query<{ database: string; version: string; bootstrap: string; me: string; authid: boolean }>(
    `SELECT current_database() AS database, current_setting('server_version_num') AS version,
            (SELECT rolname FROM pg_roles WHERE oid = 10) AS bootstrap, current_user AS me,
            has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS authid`,
  );
  const info = server.rows[0];
  if (info === undefined) throw new Error('the database answered no row about itself');

  const schemas = await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[]) ORDER BY nspname', [wanted]);
  const present = schemas.rows.map((r) => r.nspname);

  const roles = await client.query<{
    rolname: string; rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean; rolcanlogin: boolean; rolreplication: boolean;
    rolbypassrls: boolean; rolinherit: boolean; rolconnlimit: number; valid_until: Date | null; expired: boolean; member_of: RoleMembership[];
  }>(`
    SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolreplication, r.rolbypassrls, r.rolinherit,
           r.rolconnlimit,
           CASE WHEN isfinite(r.rolvaliduntil) THEN r.rolvaliduntil END AS valid_until,
           coalesce(r.rolvaliduntil < now(), false) AS expired,
           coalesce((SELECT json_agg(json_build_object('role', g.rolname, 'admin', m.admin_option) ORDER BY g.rolname)
                     FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), '[]') AS member_of
    FROM pg_roles r
    WHERE r.rolname !~ '^pg_'
    ORDER BY r.rolname`);

  let passwords = new Map<string, PasswordMethod>();
  if (info.authid) {
    // Only the method: the verifier itself never leaves the database.
    const stored = await client.query<{ rolname: string; method: PasswordMethod }>(`
      SELECT rolname, CASE WHEN rolpassword IS NULL THEN 'none' WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram-sha-256'
                           WHEN rolpassword LIKE 'md5%' THEN 'md5' ELSE 'other' END AS method
      FROM pg_catalog.pg_authid WHERE rolname !~ '^pg_'`);
    passwords = new Map(stored.rows.map((r) => [r.rolname, r.method]));
  }

  const reach = await client.query<SchemaReach>(`
    SELECT r.rolname AS role, n.nspname AS schema,
           has_database_privilege(r.oid, current_database(), 'CONNECT') AS "canConnect",
           has_schema_privilege(r.oid, n.oid, 'USAGE') AS usage,
           has_schema_privilege(r.oid, n.oid, 'CREATE') AS "create",
           t.tables, t.owned, t.sel AS "select", t.ins AS insert, t.upd AS update, t.del AS delete, t.trunc AS truncate,
           s.sequences, s.usage AS "sequenceUsage", s.upd AS "sequenceUpdate"
    FROM pg_roles r
    CROSS JOIN pg_namespace n
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS tables,
             count(*) FILTER (WHERE pg_has_role(r.oid, c.relowner, 'USAGE'))::int AS owned,
             count(*) FILTER (WHERE has_table_privilege(r.oid, c.oid, 'SELECT'))::int AS sel,
             count(*) FILTER (WHERE has_table_privilege(r.oid, c.oid, 'INSERT'))::int AS ins,
             count(*) FILTER (WHERE has_table_privilege(r.oid, c.oid, 'UPDATE'))::int AS upd,
             count(*) FILTER (WHERE has_table_privilege(r.oid, c.oid, 'DELETE'))::int AS del,
             count(*) FILTER (WHERE has_table_privilege(r.oid, c.oid, 'TRUNCATE'))::int AS trunc
      FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f')) t
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS sequences,
             count(*) FILTER (WHERE has_sequence_privilege(r.oid, c.oid, 'USAGE'))::int AS usage,
             count(*) FILTER (WHERE has_sequence_privilege(r.oid, c.oid, 'UPDATE'))::int AS upd
      FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind = 'S') s
    WHERE r.rolcanlogin AND n.nspname = ANY($1::text[])
    ORDER BY r.rolname, n.nspname`, [present]);

  const defaults = await client.query<{ creator: string; schema: string | null; kind: string; grantee: string; privileges: string[] }>(`
    SELECT pg_get_userbyid(d.defaclrole) AS creator, n.nspname AS schema, d.defaclobjtype AS kind,
           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
           array_agg(a.privilege_type ORDER BY a.privilege_type) AS privileges
    FROM pg_default_acl d
    LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
    CROSS JOIN LATERAL aclexplode(d.defaclacl) a
    WHERE d.defaclnamespace = 0 OR n.nspname = ANY($1::text[])
    GROUP BY 1, 2, 3, 4
    ORDER BY 4, 1, 2, 3`, [present]);

  const publicGrants = await client.query<{ grant: string }>(`
    SELECT format('%s on database %I', p, current_database()) AS grant
      FROM unnest(ARRAY['CONNECT', 'TEMPORARY']) p WHERE has_database_privilege('public', current_database(), p)
    UNION ALL
    SELECT format('%s on schema %I', p, n.nspname)
      FROM pg_namespace n CROSS JOIN unnest(ARRAY['USAGE', 'CREATE']) p
      WHERE (n.nspname = ANY($1::text[]) OR (n.nspname = 'public' AND p = 'CREATE')) AND has_schema_privilege('public', n.oid, p)
    UNION ALL
    SELECT format('%s on %s %I.%I', string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type),
                  CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' ELSE 'table' END, n.nspname, c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL aclexplode(c.relacl) a
      WHERE n.nspname = ANY($1::text[]) AND a.grantee = 0
      GROUP BY c.relkind, n.nspname, c.relname`, [present]);

  const sessions = await client.query<{ pid: number; user: string; database: string | null; application: string; client: string | null; backend_start: Date; state: string | null; bot: boolean }>(`
    SELECT a.pid, r.rolname AS user, a.datname AS database, a.application_name AS application, host(a.client_addr) AS client,
           a.backend_start, a.state, a.pid = ANY($1::int[]) AS bot
    FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
    WHERE r.rolsuper AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
    ORDER BY a.backend_start, a.pid`, [botSessionPids(client)]);

  return {
    database: info.database,
    serverVersionNum: Number(info.version),
    bootstrapSuperuser: info.bootstrap,
    currentUser: info.me,
    schemas: present,
    missingSchemas: wanted.filter((s) => !present.includes(s)),
    roles: roles.rows.map((r) => ({
      name: r.rolname,
      superuser: r.rolsuper,
      createRole: r.rolcreaterole,
      createDb: r.rolcreatedb,
      login: r.rolcanlogin,
      replication: r.rolreplication,
      bypassRls: r.rolbypassrls,
      inherit: r.rolinherit,
      connectionLimit: r.rolconnlimit < 0 ? null : r.rolconnlimit,
      validUntil: r.valid_until,
      expired: r.expired,
      memberOf: r.member_of,
      password: info.authid ? (passwords.get(r.rolname) ?? 'none') : null,
    })),
    reach: reach.rows,
    defaults: defaults.rows.map((d) => ({ creator: d.creator, schema: d.schema, objects: OBJECT_KINDS[d.kind] ?? 'tables', grantee: d.grantee, privileges: d.privileges })),
    publicGrants: publicGrants.rows.map((g) => g.grant),
    superuserSessions: sessions.rows.map((s) => ({
      pid: s.pid, user: s.user, database: s.database, application: s.application, client: s.client, backendStart: s.backend_start, state: s.state, bot: s.bot,
    })),
  };
}
