/**
 * The permission audit: findings first (what an auditor flags), then every role's attributes and
 * memberships, what each login role may do on the application schemas, the default privileges,
 * and the superuser sessions right now.
 *
 *   ⚠️ admin2 is a superuser; only postgres (the bootstrap superuser) is expected to be.
 *   • recipe_api — login · expires never · member of pg_read_all_data · rotatable
 *   • recipe_api on recipe_manager: CONNECT ✓ · USAGE ✓ · CREATE ✗ · 4 tables: SELECT 4, INSERT 4, UPDATE 4, DELETE 4 · 4 sequences: USAGE 4
 */
import type { Finding, UsersResult } from '../../handlers/users.js';
import type { DefaultPrivilege, RoleInfo, SchemaReach } from '../../ops/postgres/role-audit.js';
import { formatTime } from '../../format.js';
import { context, escapeMrkdwn, fitMessage, header, listWithMore, measuredAt, section, type Block, type Message } from '../blocks.js';

const MAX_FINDINGS = 20;
const MAX_ROLES = 30;
const MAX_REACH = 20;
const MAX_DEFAULTS = 15;

export function usersView(result: UsersResult): Message {
  const { audit, findings } = result;
  const warnings = findings.filter((f) => f.level === 'warning').length;
  const rotatable = new Set(result.rotatable);
  const superusers = new Map(audit.roles.map((r) => [r.name, r.superuser]));
  const blocks: Block[] = [
    header(`Permission audit of ${audit.database}`),
    context([escapeMrkdwn(`${audit.roles.length} roles · application schema ${audit.schemas.join(', ') || 'none'} · the bot connects as ${audit.currentUser}`)]),
    section(
      findings.length === 0
        ? '*Findings*\nNothing to flag.'
        : `*Findings (${warnings} ${warnings === 1 ? 'warning' : 'warnings'}, ${findings.length - warnings} ${findings.length - warnings === 1 ? 'notice' : 'notices'})*\n${listWithMore(findings, MAX_FINDINGS, findingLine, 'findings').join('\n')}`,
    ),
    section(`*Roles*\n${listWithMore(audit.roles, MAX_ROLES, (r) => roleLine(r, rotatable.has(r.name), audit.bootstrapSuperuser), 'roles').join('\n')}`),
    section(
      audit.reach.length === 0
        ? `*On ${escapeMrkdwn(audit.schemas.join(', ') || 'the application schema')}*\nNo login role, or the schema does not exist.`
        : `*What each login role may do on ${escapeMrkdwn(audit.schemas.join(', '))}*\n${listWithMore(audit.reach, MAX_REACH, (r) => reachLine(r, superusers.get(r.role) ?? false, audit.schemas.length > 1), 'rows').join('\n')}`,
    ),
    section(
      audit.defaults.length === 0
        ? '*Default privileges*\nNone: tables created later are reachable by their owner alone, until someone grants them.'
        : `*Default privileges (objects created later)*\n${listWithMore(audit.defaults, MAX_DEFAULTS, defaultLine, 'entries').join('\n')}`,
    ),
    section(sessionsText(result)),
    measuredAt(result.measuredAt),
  ];
  return fitMessage({ text: `Permission audit of ${audit.database}: ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}, ${audit.roles.length} roles`, blocks });
}

function findingLine(f: Finding): string {
  return `${f.level === 'warning' ? ':warning:' : ':information_source:'} ${escapeMrkdwn(f.text)}`;
}

function roleLine(r: RoleInfo, rotatable: boolean, bootstrap: string): string {
  const attributes = [
    r.superuser ? `*superuser*${r.name === bootstrap ? ' (bootstrap)' : ''}` : null,
    r.login ? 'login' : 'no login',
    r.createRole ? 'createrole' : null,
    r.createDb ? 'createdb' : null,
    r.replication ? 'replication' : null,
    r.bypassRls ? 'bypassrls' : null,
    r.inherit ? null : 'noinherit',
    r.connectionLimit === null ? null : `connection limit ${r.connectionLimit}`,
    r.login ? (r.expired ? `*password expired* ${r.validUntil ? formatTime(r.validUntil) : ''}`.trim() : r.validUntil ? `password expires ${formatTime(r.validUntil)}` : 'password never expires') : null,
    r.password === null ? null : `password ${r.password}`,
    r.memberOf.length === 0 ? null : `member of ${r.memberOf.map((m) => `${m.role}${m.admin ? ' (admin)' : ''}`).join(', ')}`,
    rotatable ? 'rotatable by the bot' : null,
  ].filter((x): x is string => x !== null);
  return `• *${escapeMrkdwn(r.name)}* — ${attributes.map((a) => (a.startsWith('*') ? a : escapeMrkdwn(a))).join(' · ')}`;
}

function reachLine(r: SchemaReach, superuser: boolean, manySchemas: boolean): string {
  const who = `*${escapeMrkdwn(r.role)}*${manySchemas ? ` on ${escapeMrkdwn(r.schema)}` : ''}`;
  if (superuser) return `• ${who}: superuser — everything`;
  const mark = (ok: boolean): string => (ok ? '✓' : '✗');
  const tables = r.tables === 0 ? 'no tables' : `${r.tables} tables${r.owned > 0 ? ` (owns ${r.owned})` : ''}: ${counts([['SELECT', r.select], ['INSERT', r.insert], ['UPDATE', r.update], ['DELETE', r.delete], ['TRUNCATE', r.truncate]])}`;
  const sequences = r.sequences === 0 ? null : `${r.sequences} sequences: ${counts([['USAGE', r.sequenceUsage], ['UPDATE', r.sequenceUpdate]])}`;
  return `• ${who}: CONNECT ${mark(r.canConnect)} · USAGE ${mark(r.usage)} · CREATE ${mark(r.create)} · ${[tables, sequences].filter(Boolean).join(' · ')}`;
}

function counts(pairs: [string, number][]): string {
  const some = pairs.filter(([, n]) => n > 0);
  return some.length === 0 ? 'none' : some.map(([p, n]) => `${p} ${n}`).join(', ');
}

function defaultLine(d: DefaultPrivilege): string {
  return `• ${escapeMrkdwn(`${d.objects} ${d.creator} creates ${d.schema ? `in ${d.schema}` : 'anywhere'} → ${d.grantee}: ${d.privileges.join(', ')}`)}`;
}

function sessionsText(result: UsersResult): string {
  const sessions = result.audit.superuserSessions;
  if (sessions.length === 0) return '*Superuser sessions now*\nNone.';
  const lines = listWithMore(sessions, 10, (s) =>
    escapeMrkdwn(`• pid ${s.pid} · ${s.user} · "${s.application || '(no application name)'}" · ${s.client ?? 'local socket'} · since ${formatTime(s.backendStart)}${s.bot ? ' · the bot\'s own' : ''}`),
  'sessions');
  return `*Superuser sessions now (${sessions.length})*\n${lines.join('\n')}`;
}
