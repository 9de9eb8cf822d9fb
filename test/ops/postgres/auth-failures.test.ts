/**
 * Failed authentications read from PostgreSQL's own log lines. The fixture is what PostgreSQL
 * 15.18 (Debian) wrote on this machine with the official image's log_line_prefix '%m [%p] ':
 * wrong passwords, an unknown role, a database no pg_hba.conf line allows, a `reject` line, then
 * the same with log_connections = on (whose "connection received" line gives the address).
 * test/handlers/logins.test.ts captures such lines live from a test cluster.
 */
import { describe, expect, it } from 'vitest';
import { findAuthFailures, type LogLineInput } from '../../../src/ops/postgres/auth-failures.js';

const CAPTURED_PG15 = [
  "2026-12-03 12:06:25.369 UTC [15275] FATAL:  password authentication failed for user \"recipe_api\"",
  "2026-12-03 12:06:25.369 UTC [15275] DETAIL:  Connection matched pg_hba.conf line 3: \"host    postgres,recipe_database all    127.0.0.1/32            scram-sha-256\"",
  "2026-12-03 12:06:25.419 UTC [15278] FATAL:  password authentication failed for user \"ghost\"",
  "2026-12-03 12:06:25.419 UTC [15278] DETAIL:  Role \"ghost\" does not exist.",
  "\tConnection matched pg_hba.conf line 3: \"host    postgres,recipe_database all    127.0.0.1/32            scram-sha-256\"",
  "2026-12-03 12:06:25.444 UTC [15281] FATAL:  no pg_hba.conf entry for host \"127.0.0.1\", user \"recipe_api\", database \"other\", no encryption",
  "2026-12-03 12:06:25.463 UTC [15283] FATAL:  pg_hba.conf rejects connection for host \"127.0.0.1\", user \"recipe_api\", database \"sales\", no encryption",
  "2026-12-03 12:06:25.499 UTC [14978] LOG:  received SIGHUP, reloading configuration files",
  "2026-12-03 12:06:25.500 UTC [14978] LOG:  parameter \"log_connections\" changed to \"on\"",
  "2026-12-03 12:06:26.528 UTC [15383] LOG:  connection received: host=127.0.0.1 port=41146",
  "2026-12-03 12:06:26.544 UTC [15383] FATAL:  password authentication failed for user \"recipe_api\"",
  "2026-12-03 12:06:26.544 UTC [15383] DETAIL:  Connection matched pg_hba.conf line 3: \"host    postgres,recipe_database all    127.0.0.1/32            scram-sha-256\"",
  "2026-12-03 12:06:26.560 UTC [15385] LOG:  connection received: host=127.0.0.1 port=41156",
  "2026-12-03 12:06:26.571 UTC [15385] LOG:  connection authenticated: identity=\"recipe_api\" method=scram-sha-256 (/tmp/users-cap/data/pg_hba.conf:3)",
  "2026-12-03 12:06:26.571 UTC [15385] LOG:  connection authorized: user=recipe_api database=recipe_database application_name=psql",
  "2026-12-03 12:06:26.603 UTC [15387] LOG:  connection received: host=127.0.0.1 port=41166",
  "2026-12-03 12:06:26.604 UTC [15387] FATAL:  no pg_hba.conf entry for host \"127.0.0.1\", user \"Recipe_API\", database \"other\", no encryption",
];

const from = (lines: string[], source = 'recipe-database-7d9f8b-x2k4q'): LogLineInput[] => lines.map((text) => ({ source, text }));

describe('findAuthFailures', () => {
  it('groups the captured failures by user and client address, with first and last seen', () => {
    const found = findAuthFailures(from(CAPTURED_PG15));
    expect(found.lines).toBe(CAPTURED_PG15.length);
    expect(found.recognised).toBe(CAPTURED_PG15.length);
    expect(found.collectorRedirect).toBe(false);
    const byKey = new Map(found.groups.map((g) => [`${g.user}@${g.client ?? '?'}`, g]));
    expect(byKey.get('recipe_api@?')).toMatchObject({ count: 1, kinds: ['password'], reasons: [] });
    expect(byKey.get('recipe_api@?')?.firstSeen?.toISOString()).toBe('2026-12-03T12:06:25.369Z');
    expect(byKey.get('ghost@?')).toMatchObject({ count: 1, kinds: ['password'], reasons: ['Role "ghost" does not exist.'] });
    // With log_connections on, the address comes from the same process's "connection received" line;
    // pg_hba.conf refusals name their host themselves.
    const fromLocal = byKey.get('recipe_api@127.0.0.1');
    expect(fromLocal).toMatchObject({ count: 3, kinds: ['no-hba-entry', 'hba-reject', 'password'], databases: ['other', 'sales'] });
    expect(fromLocal?.firstSeen?.toISOString()).toBe('2026-12-03T12:06:25.444Z');
    expect(fromLocal?.lastSeen?.toISOString()).toBe('2026-12-03T12:06:26.544Z');
    // A quoted name is another role: kept apart.
    expect(byKey.get('Recipe_API@127.0.0.1')).toMatchObject({ count: 1, kinds: ['no-hba-entry'] });
    // The successful login (pid 15385) is no failure.
    expect(found.groups.reduce((n, g) => n + g.count, 0)).toBe(6);
    expect(found.addressesUnknown).toBe(2);
    expect(found.groups[0]?.user).toBe('recipe_api');
  });

  it('reads prefixes that extend the default, and keeps pods apart per process', () => {
    const found = findAuthFailures([
      { source: 'pod-a', text: '2026-12-03 12:00:00.001 UTC [77] LOG:  connection received: host=10.1.2.3 port=5000' },
      { source: 'pod-b', text: '2026-12-03 12:00:00.002 UTC [77] recipe_api@recipe_database FATAL:  password authentication failed for user "recipe_api"' },
      { source: 'pod-a', text: '2026-12-03 12:00:00.003 UTC [77] recipe_api@recipe_database FATAL:  password authentication failed for user "recipe_api"' },
    ]);
    expect(found.groups.map((g) => [g.user, g.client, g.count, g.sources])).toEqual([
      ['recipe_api', '10.1.2.3', 1, ['pod-a']],
      ['recipe_api', null, 1, ['pod-b']],
    ]);
  });

  it('takes the kubelet time when the zone is an ambiguous abbreviation, and numeric offsets as they are', () => {
    const found = findAuthFailures([
      { source: 'p', stamp: '2026-12-03T11:00:00.500Z', text: '2026-12-03 12:00:00.500 CET [1] FATAL:  password authentication failed for user "a"' },
      { source: 'p', text: '2026-12-03 14:00:00.250 +02 [2] FATAL:  password authentication failed for user "b"' },
      { source: 'p', text: '2026-12-03 12:00:00 UTC [3] FATAL:  Ident authentication failed for user "c"' },
    ]);
    const seen = Object.fromEntries(found.groups.map((g) => [g.user, [g.firstSeen?.toISOString(), g.kinds[0], g.reasons[0]]]));
    expect(seen).toEqual({
      a: ['2026-12-03T11:00:00.500Z', 'password', undefined],
      b: ['2026-12-03T12:00:00.250Z', 'password', undefined],
      c: ['2026-12-03T12:00:00.000Z', 'other-method', 'Ident authentication failed'],
    });
  });

  it('says when the server sends its log to files, and counts lines it cannot read', () => {
    const found = findAuthFailures(from([
      '2026-12-03 12:00:00.000 UTC [1] LOG:  redirecting log output to logging collector process',
      '2026-12-03 12:00:00.000 UTC [1] HINT:  Future log output will appear in directory "log".',
      '{"level":"info","msg":"not postgres"}',
    ]));
    expect(found.collectorRedirect).toBe(true);
    expect(found.recognised).toBe(2);
    expect(found.groups).toEqual([]);
  });
});
