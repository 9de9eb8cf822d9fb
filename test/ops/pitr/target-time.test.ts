/**
 * The time a point-in-time restore goes back to: an ISO time with its offset or a time ago,
 * always handed on as UTC with `+00`; a time without an offset, or with a zone name, is refused
 * in one sentence, never guessed.
 */
import { describe, expect, it } from 'vitest';
import { parseTargetTime, resolveTargetTime } from '../../../src/ops/pitr/target-time.js';

const at = (text: string) => {
  const parsed = parseTargetTime(text);
  if (parsed.kind !== 'at') throw new Error(`not an absolute time: ${JSON.stringify(parsed)}`);
  return parsed.target;
};
const reason = (text: string) => {
  const parsed = parseTargetTime(text);
  if (parsed.kind !== 'invalid') throw new Error(`accepted: ${JSON.stringify(parsed)}`);
  return parsed.reason;
};

describe('parseTargetTime', () => {
  it('reads ISO and SQL forms with an offset, and hands on UTC written +00', () => {
    expect(at('2026-12-03T14:03:00Z')).toEqual({ epochMs: Date.UTC(2026, 11, 3, 14, 3, 0), pg: '2026-12-03 14:03:00+00', iso: '2026-12-03T14:03:00Z' });
    expect(at('2026-12-03T14:03:00+01:00').pg).toBe('2026-12-03 13:03:00+00');
    expect(at('2026-12-03 14:03:00-05').pg).toBe('2026-12-03 19:03:00+00');
    expect(at('2026-12-03 14:03:00 +0530').pg).toBe('2026-12-03 08:33:00+00');
    expect(at('2026-12-03T14:03Z').pg).toBe('2026-12-03 14:03:00+00');
    expect(at('2026-12-03 23:30:00 UTC').pg).toBe('2026-12-03 23:30:00+00');
    // Across midnight and the year.
    expect(at('2027-01-01T00:30:00+02:00').pg).toBe('2026-12-31 22:30:00+00');
  });

  it('keeps the fraction of a second to the microsecond (PostgreSQL stops at the first commit after it)', () => {
    expect(at('2026-12-03T14:03:00.250Z')).toMatchObject({ pg: '2026-12-03 14:03:00.25+00', iso: '2026-12-03T14:03:00.25Z', epochMs: Date.UTC(2026, 11, 3, 14, 3, 0, 250) });
    expect(at('2026-12-03 14:03:00.123456+00').pg).toBe('2026-12-03 14:03:00.123456+00');
    expect(at('2026-12-03 14:03:00.123456+00').epochMs).toBe(Date.UTC(2026, 11, 3, 14, 3, 0, 123));
  });

  it('reads a time ago, resolved against the clock when the restore is planned', () => {
    const parsed = parseTargetTime('10m ago');
    expect(parsed).toEqual({ kind: 'ago', ms: 600_000, typed: '10m ago' });
    if (parsed.kind !== 'ago') throw new Error('unreachable');
    const now = new Date('2026-12-03T14:03:00.500Z');
    expect(resolveTargetTime(parsed, now)).toEqual({ epochMs: Date.UTC(2026, 11, 3, 13, 53, 0, 500), pg: '2026-12-03 13:53:00.5+00', iso: '2026-12-03T13:53:00.5Z' });
    expect(parseTargetTime('1h30m ago')).toMatchObject({ kind: 'ago', ms: 5_400_000 });
  });

  it('never guesses a missing offset: one sentence that says why and how to write it', () => {
    expect(reason('2026-12-03 14:03:00')).toBe(
      '"2026-12-03 14:03:00" has no UTC offset, and the bot never guesses one (the database, pgBackRest and you may each assume another time zone): write it with its offset, e.g. 2026-12-03T14:03:00Z, 2026-12-03 14:03:00+01:00 or 10m ago',
    );
    expect(reason('2026-12-03T14:03')).toContain('has no UTC offset');
  });

  it('refuses zone names and abbreviations, impossible dates, and what is no time at all', () => {
    expect(reason('2026-12-03 14:03:00 CET')).toMatch(/^"CET" in "2026-12-03 14:03:00 CET" is not a UTC offset: time zone names and abbreviations are ambiguous/);
    expect(reason('2026-12-03 14:03:00 Europe/Paris')).toContain('is not a UTC offset');
    expect(reason('2026-02-30T10:00:00Z')).toBe('"2026-02-30T10:00:00Z" is not a real date and time');
    expect(reason('2026-12-03T25:00:00Z')).toBe('"2026-12-03T25:00:00Z" is not a real date and time');
    expect(reason('2026-12-03T10:00:00+15:00')).toBe('"2026-12-03T10:00:00+15:00" is not a real date and time');
    expect(reason('yesterday')).toMatch(/^"yesterday" is not a time the bot reads/);
    expect(reason('14:03')).toMatch(/is not a time the bot reads/);
    expect(reason('10 ago')).toMatch(/is not a time ago/);
    expect(reason('')).toMatch(/^--to-time needs a time/);
  });
});
