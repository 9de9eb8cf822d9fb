/**
 * The moment a point-in-time restore goes back to, as the operator types it: an ISO time WITH its
 * UTC offset, or a time ago. A time without an offset is never guessed: pgBackRest would read it in
 * its own process's time zone to pick a backup while PostgreSQL reads it in the server's `timezone`
 * (pgbackrest#2452), and tools that fill in a zone get it wrong (cloudnative-pg#2701). What the bot
 * hands on is always `YYYY-MM-DD HH:MM:SS[.ffffff]+00`: pgBackRest refuses ISO's `T…Z` (error 029)
 * and PostgreSQL must not see a `Z` it may misread (cloudnative-pg#10819).
 *
 *   parseTargetTime('2026-12-03T14:03:00+01:00') // { kind: 'at', target: { pg: '2026-12-03 13:03:00+00', … } }
 *   parseTargetTime('10m ago')                   // { kind: 'ago', ms: 600000 }
 *   parseTargetTime('2026-12-03 14:03')          // { kind: 'invalid', reason: '"2026-12-03 14:03" has no UTC offset, …' }
 *   resolveTargetTime({ kind: 'ago', ms: 600000 }, now) // the target 10 minutes before `now`
 */
import { formatDuration, parseDuration } from '../../duration.js';

export interface RecoveryTarget {
  /** Milliseconds since the epoch (digits below the millisecond are kept in `pg` and `iso`). */
  epochMs: number;
  /** For pgBackRest's --target and PostgreSQL's recovery_target_time: '2026-12-03 13:03:00.25+00'. */
  pg: string;
  /** For people, and to type back: '2026-12-03T13:03:00.25Z'. */
  iso: string;
}

export type TargetTimeSpec = { kind: 'at'; target: RecoveryTarget; typed: string } | { kind: 'ago'; ms: number; typed: string };

export type ParsedTargetTime = TargetTimeSpec | { kind: 'invalid'; reason: string };

const EXAMPLES = 'e.g. 2026-12-03T14:03:00Z, 2026-12-03 14:03:00+01:00 or 10m ago';
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?\s*(.*)$/i;
const OFFSET = /^(?:(Z|UTC|GMT)|([+-])(\d{2})(?::?(\d{2}))?)$/i;
/** The longest offset in use is +14:00; anything further is a typo. */
const MAX_OFFSET_MINUTES = 14 * 60;

export function parseTargetTime(typed: string): ParsedTargetTime {
  const text = typed.trim().replace(/\s+/g, ' ');
  if (text === '') return { kind: 'invalid', reason: `--to-time needs a time, ${EXAMPLES}` };
  const ago = /^(\S+) ago$/i.exec(text);
  if (ago) {
    const ms = parseDuration(ago[1] as string);
    if (ms === undefined || ms <= 0) return { kind: 'invalid', reason: `"${text}" is not a time ago: write the duration like 10m ago, 90s ago or 1h30m ago` };
    return { kind: 'ago', ms, typed: text };
  }
  const match = DATE_TIME.exec(text);
  if (!match) return { kind: 'invalid', reason: `"${text}" is not a time the bot reads: give an ISO time with its UTC offset or a time ago, ${EXAMPLES}` };
  const [, year, month, day, hour, minute, second = '00', fraction = '', zone = ''] = match;
  if (zone === '') {
    return {
      kind: 'invalid',
      reason: `"${text}" has no UTC offset, and the bot never guesses one (the database, pgBackRest and you may each assume another time zone): write it with its offset, ${EXAMPLES}`,
    };
  }
  const offset = OFFSET.exec(zone);
  if (!offset) {
    return {
      kind: 'invalid',
      reason: `"${zone}" in "${text}" is not a UTC offset: time zone names and abbreviations are ambiguous (daylight saving, CST is three zones), so give the offset as +01:00, -05:00 or Z, ${EXAMPLES}`,
    };
  }
  const offsetMinutes = offset[1] ? 0 : (offset[2] === '-' ? -1 : 1) * (Number(offset[3]) * 60 + Number(offset[4] ?? '0'));
  const parts = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number];
  const [y, mo, d, h, mi, s] = parts;
  const localMs = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(localMs);
  const real =
    check.getUTCFullYear() === y && check.getUTCMonth() === mo - 1 && check.getUTCDate() === d && check.getUTCHours() === h && check.getUTCMinutes() === mi && check.getUTCSeconds() === s;
  if (!real || Math.abs(offsetMinutes) > MAX_OFFSET_MINUTES || Number(offset[4] ?? '0') > 59) {
    return { kind: 'invalid', reason: `"${text}" is not a real date and time` };
  }
  const epochSeconds = localMs / 1000 - offsetMinutes * 60;
  return { kind: 'at', target: targetAt(epochSeconds, fraction), typed: text };
}

/** The absolute target of a spec: a time ago counts back from `now`. */
export function resolveTargetTime(spec: TargetTimeSpec, now: Date): RecoveryTarget {
  if (spec.kind === 'at') return spec.target;
  const ms = now.getTime() - spec.ms;
  const millis = ((ms % 1000) + 1000) % 1000;
  return targetAt(Math.floor(ms / 1000), String(millis).padStart(3, '0'));
}

/** "10m ago" said back with the moment it stands for. */
export function describeTargetSpec(spec: TargetTimeSpec): string {
  return spec.kind === 'ago' ? `${formatDuration(spec.ms)} ago` : spec.typed;
}

function targetAt(epochSeconds: number, fraction: string): RecoveryTarget {
  const digits = fraction.replace(/0+$/, '');
  const base = new Date(epochSeconds * 1000).toISOString().slice(0, 19);
  const tail = digits ? `.${digits}` : '';
  return {
    epochMs: epochSeconds * 1000 + Number(digits.padEnd(3, '0').slice(0, 3)),
    pg: `${base.replace('T', ' ')}${tail}+00`,
    iso: `${base}${tail}Z`,
  };
}
