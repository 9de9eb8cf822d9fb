/**
 * `users`: the permission audit (SPEC sections 4 and 11, the runbook's "Permission Audits" and
 * "Monitor privilege escalations"): every role with its attributes, memberships and password
 * expiry, what each login role may do on the application schemas, default privileges, and the
 * findings an auditor would flag: unexpected superusers, passwords that never expire, PUBLIC-like
 * reach, and client sessions running as a superuser right now.
 */
import { formatTime } from '../format.js';
import { readRoleAudit, type RoleAudit } from '../ops/postgres/role-audit.js';
import { listCreatedUsers } from '../state/created-users.js';
import { applicationSchemas } from './application-schemas.js';
import { defineHandler, noArgs } from './handler.js';

export interface Finding {
  level: 'warning' | 'notice';
  /** The role it is about, when one. */
  role?: string;
  text: string;
}

export interface UsersResult {
  measuredAt: Date;
  audit: RoleAudit;
  findings: Finding[];
  /** Roles whose password `user rotate-password` may change: MANAGED_USERS and the users the bot created. */
  rotatable: string[];
}

/** Predefined roles that reach (nearly) everything, whatever the grants on the objects. */
const BROAD_ROLES: Record<string, string> = {
  pg_read_all_data: 'can read every table in every schema',
  pg_write_all_data: 'can change every table in every schema',
  pg_execute_server_program: "can run programs on the database server as its operating-system user",
  pg_read_server_files: "can read any file the database server can",
  pg_write_server_files: "can write any file the database server can",
};
/** The default grants of PostgreSQL itself: worth knowing, rarely an incident. */
const DEFAULT_PUBLIC_GRANT = /^(CONNECT|TEMPORARY) on database /;
const EXPIRY_WARNING_MS = 7 * 86_400_000;

export const usersHandler = defineHandler({
  name: 'users',
  usage: 'users',
  summary: 'the permission audit: roles and their attributes, memberships, password expiry, reach on the application schema, superuser sessions now',
  args: noArgs,
  async run(_args, ctx): Promise<UsersResult> {
    const [audit, created] = await Promise.all([
      readRoleAudit(ctx.db, { schemas: applicationSchemas(ctx.config) }),
      listCreatedUsers(ctx.state).catch((error: unknown) => {
        ctx.log.warn({ err: error }, 'could not read the users the bot created');
        return [];
      }),
    ]);
    const now = ctx.now();
    const rotatable = [...new Set([...ctx.config.managedUsers.map((u) => u.role), ...created.map((u) => u.role)])].sort();
    return { measuredAt: now, audit, findings: auditFindings(audit, now), rotatable };
  },
});

/** The audit's findings, warnings first; pure, so the wording is tested from audits. */
export function auditFindings(audit: RoleAudit, now: Date): Finding[] {
  const findings: Finding[] = [];
  const expected = audit.bootstrapSuperuser;
  for (const role of audit.roles) {
    if (role.superuser && role.name !== expected) {
      const bot = role.name === audit.currentUser ? ' The bot itself connects as it: it needs only CREATEROLE, pg_monitor and pg_signal_backend.' : '';
      findings.push({ level: 'warning', role: role.name, text: `${role.name} is a superuser; only ${expected} (the bootstrap superuser) is expected to be.${bot}` });
    }
    for (const m of role.memberOf) {
      const reach = BROAD_ROLES[m.role];
      if (reach !== undefined && !role.superuser) findings.push({ level: 'warning', role: role.name, text: `${role.name} is a member of ${m.role}: it ${reach}.` });
    }
    if (role.password === 'md5') findings.push({ level: 'warning', role: role.name, text: `${role.name}'s password is stored as MD5, which PostgreSQL deprecates: set a new one (SCRAM-SHA-256).` });
    if (!role.login) continue;
    if (role.expired) {
      findings.push({ level: 'warning', role: role.name, text: `${role.name}'s password expired${role.validUntil ? ` at ${formatTime(role.validUntil)}` : ''}: its password logins fail.` });
    } else if (role.validUntil !== null && role.validUntil.getTime() - now.getTime() < EXPIRY_WARNING_MS) {
      findings.push({ level: 'warning', role: role.name, text: `${role.name}'s password expires at ${formatTime(role.validUntil)}, within a week.` });
    } else if (role.validUntil === null && role.password !== 'none') {
      findings.push({ level: 'notice', role: role.name, text: `${role.name} can log in and its password never expires (no VALID UNTIL).` });
    }
  }
  for (const grant of audit.publicGrants) {
    findings.push(
      DEFAULT_PUBLIC_GRANT.test(grant)
        ? { level: 'notice', text: `PUBLIC has ${grant} (PostgreSQL's default): every login role gets it, also ones created later.` }
        : { level: 'warning', text: `PUBLIC has ${grant}: every role, also ones created later, gets it.` },
    );
  }
  for (const d of audit.defaults.filter((x) => x.grantee === 'PUBLIC')) {
    findings.push({ level: 'warning', text: `Default privileges give PUBLIC ${d.privileges.join(', ')} on the ${d.objects} ${d.creator} creates${d.schema ? ` in ${d.schema}` : ''}.` });
  }
  const foreign = audit.superuserSessions.filter((s) => !s.bot);
  for (const s of foreign) {
    findings.push({
      level: 'warning',
      role: s.user,
      text: `pid ${s.pid} runs as the superuser ${s.user} right now: application "${s.application || '(none)'}" from ${s.client ?? 'a local socket'}, since ${formatTime(s.backendStart)}${s.database ? `, database ${s.database}` : ''}.`,
    });
  }
  const own = audit.superuserSessions.length - foreign.length;
  if (own > 0) findings.push({ level: 'notice', text: `${own} session${own === 1 ? '' : 's'} named like the bot's own run as a superuser.` });
  if (audit.missingSchemas.length > 0) findings.push({ level: 'notice', text: `The application schema ${audit.missingSchemas.join(', ')} does not exist in ${audit.database} (from VERIFY_TABLES).` });
  const rank = { warning: 0, notice: 1 };
  return findings.map((f, i) => ({ f, i })).sort((a, b) => rank[a.f.level] - rank[b.f.level] || a.i - b.i).map(({ f }) => f);
}
