/**
 * Failed authentications in PostgreSQL's own log, as the database container writes it to stderr
 * (what `kubectl logs` reads). The official postgres image leaves log_line_prefix at PostgreSQL's
 * default, `'%m [%p] '` (timestamp with milliseconds and zone, then the process ID), and
 * logging_collector off, so a line reads:
 *
 *   2026-12-03 12:06:25.369 UTC [15275] FATAL:  password authentication failed for user "recipe_api"
 *   2026-12-03 12:06:25.369 UTC [15275] DETAIL:  Connection matched pg_hba.conf line 3: "host all all all scram-sha-256"
 *   2026-12-03 12:06:25.444 UTC [15281] FATAL:  no pg_hba.conf entry for host "10.1.2.3", user "x", database "y", no encryption
 *
 * The default prefix carries no client address: a password failure gets one only from the same
 * process's `connection received: host=… port=…` line (log_connections = on); a pg_hba.conf
 * refusal names its host itself. Prefixes that extend the default (`'%m [%p] %q%u@%d '`) are read
 * too. Lines are grouped by user and client address, with first and last seen.
 *
 *   const found = findAuthFailures([{ source: 'recipe-database-7d9f8b-x2k4q', text: line, stamp: '2026-12-03T12:06:25.369812Z' }]);
 *   found.groups[0] // { user: 'recipe_api', client: null, count: 1, kinds: ['password'], … }
 */

export interface LogLineInput {
  /** Where the line came from (a pod). */
  source: string;
  text: string;
  /** The kubelet's RFC 3339 time of the line (`timestamps=true`), when known. */
  stamp?: string;
}

export type AuthFailureKind = 'password' | 'other-method' | 'no-hba-entry' | 'hba-reject';

export interface AuthFailureGroup {
  user: string;
  /** The client's address; null when the log does not say (see `addressesUnknown`). */
  client: string | null;
  count: number;
  kinds: AuthFailureKind[];
  /** The servers' explanations (DETAIL lines), e.g. `Role "x" does not exist.`, most frequent first. */
  reasons: string[];
  databases: string[];
  sources: string[];
  firstSeen: Date | null;
  lastSeen: Date | null;
}

export interface AuthFailures {
  groups: AuthFailureGroup[];
  /** Lines read in all. */
  lines: number;
  /** Lines in PostgreSQL's format (`%m [%p] SEVERITY:  …`, continuations included). */
  recognised: number;
  /** Failures whose client address the log does not give. */
  addressesUnknown: number;
  /** The server sends its log to files in the container (logging_collector = on): stderr has nothing more. */
  collectorRedirect: boolean;
}

// `%m` is `2026-12-03 12:06:25.369 UTC`; the zone is log_timezone's abbreviation or a numeric offset.
const LINE = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?) ([A-Za-z][A-Za-z0-9/_+-]*|[+-]\d{2}(?::?\d{2})?) \[(\d+)\] (?:.*? )?(DEBUG[1-5]|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|STATEMENT|LOCATION): {2}(.*)$/;
const PASSWORD_FAILED = /^password authentication failed for user "(.*)"$/;
const METHOD_FAILED = /^(\S+(?: \S+)?) authentication failed for user "(.*)"$/;
const NO_HBA_ENTRY = /^no pg_hba\.conf entry for (?:replication connection from )?host "([^"]*)", user "([^"]*)"(?:, database "([^"]*)")?/;
const HBA_REJECT = /^pg_hba\.conf rejects (?:replication )?connection for host "([^"]*)", user "([^"]*)"(?:, database "([^"]*)")?/;
const CONNECTION_RECEIVED = /^connection received: host=(\S+)(?: port=\d+)?/;
const COLLECTOR = /^redirecting log output to logging collector process/;
const UTC_ZONES = new Set(['UTC', 'GMT', 'UCT', 'Z', 'Etc/UTC', 'Etc/GMT', 'Universal', 'Zulu']);

interface Failure {
  user: string;
  client: string | null;
  kind: AuthFailureKind;
  database: string | null;
  source: string;
  at: Date | null;
  reasons: string[];
}

export function findAuthFailures(input: readonly LogLineInput[]): AuthFailures {
  const failures: Failure[] = [];
  // Per source and process: the client address from log_connections, and the last failure (its DETAIL follows).
  const clientOf = new Map<string, string>();
  let last: { process: string; failure: Failure } | undefined;
  let recognised = 0;
  let collectorRedirect = false;

  for (const line of input) {
    const text = line.text.replace(/\r$/, '');
    // A message spanning lines (a DETAIL quoting pg_hba.conf) continues with a tab.
    if (text.startsWith('\t')) {
      if (last !== undefined) recognised++;
      continue;
    }
    const match = LINE.exec(text);
    if (!match) {
      last = undefined;
      continue;
    }
    recognised++;
    const [, stamp = '', zone = '', pid = '', severity = '', message = ''] = match;
    const process = `${line.source}\u0000${pid}`;
    if (severity === 'DETAIL' && last?.process === process) {
      const reason = detailReason(message);
      if (reason !== undefined) last.failure.reasons.push(reason);
      continue;
    }
    last = undefined;
    if (COLLECTOR.test(message)) collectorRedirect = true;
    const received = CONNECTION_RECEIVED.exec(message);
    if (received?.[1] !== undefined) {
      clientOf.set(process, received[1]);
      continue;
    }
    if (severity !== 'FATAL') continue;
    const at = lineTime(stamp, zone, line.stamp);
    const failure = authFailure(message, clientOf.get(process) ?? null, line.source, at);
    if (failure === undefined) continue;
    failures.push(failure);
    last = { process, failure };
  }

  return {
    groups: group(failures),
    lines: input.length,
    recognised,
    addressesUnknown: failures.filter((f) => f.client === null).length,
    collectorRedirect,
  };
}

function authFailure(message: string, client: string | null, source: string, at: Date | null): Failure | undefined {
  const base = { source, at, reasons: [] as string[] };
  const password = PASSWORD_FAILED.exec(message);
  if (password?.[1] !== undefined) return { ...base, user: password[1], client, kind: 'password', database: null };
  const hba = NO_HBA_ENTRY.exec(message);
  if (hba?.[1] !== undefined) return { ...base, user: hba[2] ?? '', client: hba[1], kind: 'no-hba-entry', database: hba[3] ?? null };
  const rejected = HBA_REJECT.exec(message);
  if (rejected?.[1] !== undefined) return { ...base, user: rejected[2] ?? '', client: rejected[1], kind: 'hba-reject', database: rejected[3] ?? null };
  const method = METHOD_FAILED.exec(message);
  if (method?.[2] !== undefined) return { ...base, user: method[2], client, kind: 'other-method', database: null, reasons: [`${method[1]} authentication failed`] };
  return undefined;
}

/** The part of a DETAIL line worth showing: why, not which pg_hba.conf line matched. */
function detailReason(message: string): string | undefined {
  if (/^Connection matched pg_hba\.conf line/.test(message)) return undefined;
  const own = message.replace(/\s*Connection matched (?:file "[^"]*" )?line \d+.*$/, '').trim();
  return own === '' ? undefined : own.slice(0, 200);
}

function lineTime(stamp: string, zone: string, kubelet: string | undefined): Date | null {
  const iso = stamp.replace(' ', 'T');
  let parsed: number | undefined;
  if (UTC_ZONES.has(zone)) parsed = Date.parse(`${iso}Z`);
  else if (/^[+-]\d{2}(?::?\d{2})?$/.test(zone)) {
    const offset = zone.length === 3 ? `${zone}:00` : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
    parsed = Date.parse(`${iso}${offset}`);
  }
  // A zone abbreviation (CET, EST) is ambiguous: the kubelet's own time of the line is exact.
  if (parsed === undefined || Number.isNaN(parsed)) parsed = kubelet === undefined ? NaN : Date.parse(kubelet);
  return Number.isNaN(parsed) ? null : new Date(parsed);
}

function group(failures: Failure[]): AuthFailureGroup[] {
  const groups = new Map<string, { group: AuthFailureGroup; reasons: Map<string, number> }>();
  for (const f of failures) {
    const key = `${f.user}\u0000${f.client ?? ''}`;
    let entry = groups.get(key);
    if (entry === undefined) {
      entry = {
        group: { user: f.user, client: f.client, count: 0, kinds: [], reasons: [], databases: [], sources: [], firstSeen: null, lastSeen: null },
        reasons: new Map(),
      };
      groups.set(key, entry);
    }
    const g = entry.group;
    g.count++;
    if (!g.kinds.includes(f.kind)) g.kinds.push(f.kind);
    if (f.database !== null && !g.databases.includes(f.database)) g.databases.push(f.database);
    if (!g.sources.includes(f.source)) g.sources.push(f.source);
    for (const reason of f.reasons) entry.reasons.set(reason, (entry.reasons.get(reason) ?? 0) + 1);
    if (f.at !== null) {
      if (g.firstSeen === null || f.at < g.firstSeen) g.firstSeen = f.at;
      if (g.lastSeen === null || f.at > g.lastSeen) g.lastSeen = f.at;
    }
  }
  return [...groups.values()]
    .map(({ group: g, reasons }) => ({ ...g, reasons: [...reasons.entries()].sort((a, b) => b[1] - a[1]).map(([r]) => r) }))
    .sort((a, b) => b.count - a.count || (b.lastSeen?.getTime() ?? 0) - (a.lastSeen?.getTime() ?? 0) || a.user.localeCompare(b.user));
}
