/**
 * Alertmanager 0.25's real webhook bodies (test/fixtures/alertmanager-webhooks.json, captured on
 * this machine), parsed and compared as a group's notifications follow one another.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareNotifications, notificationDigest } from '../../../src/ops/alertmanager/notification-changes.js';
import { parseAlertNotification, type AlertNotification } from '../../../src/ops/alertmanager/webhook-payload.js';

type Sample = 'firstFiring' | 'repeat' | 'changeSecondAlertAdded' | 'truncatedByMaxAlerts' | 'partialResolve' | 'allResolved' | 'autoResolvedByResolveTimeout';
const samples = JSON.parse(readFileSync(new URL('../../fixtures/alertmanager-webhooks.json', import.meta.url), 'utf8')) as Record<Sample, { body: unknown }>;

function notification(name: Sample): AlertNotification {
  const parsed = parseAlertNotification(structuredClone(samples[name].body));
  if (!parsed.ok) throw new Error(`${name}: ${parsed.problem}`);
  return parsed.notification;
}

describe('the webhook payload', () => {
  it('parses every captured body, with a firing alert\'s zero endsAt as null', () => {
    for (const name of Object.keys(samples).filter((k) => !k.startsWith('_')) as Sample[]) expect(() => notification(name), name).not.toThrow();
    const first = notification('firstFiring');
    expect(first).toMatchObject({ groupKey: '{}:{alertname="PostgresDown"}', status: 'firing', truncatedAlerts: 0, externalURL: 'http://vm:35549' });
    expect(first.alerts[0]).toMatchObject({ fingerprint: 'b5d738e9a8a8396c', status: 'firing', startsAt: '2026-12-03T11:46:12.607Z', endsAt: null });
    expect(notification('partialResolve').alerts[0]).toMatchObject({ status: 'resolved', endsAt: '2026-12-03T11:46:19.629Z' });
    // Nanoseconds (resolve_timeout) are read, to the millisecond.
    expect(notification('autoResolvedByResolveTimeout').alerts[0]?.endsAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('refuses what is not a version 4 payload, saying where', () => {
    const body = () => structuredClone(samples.firstFiring.body) as Record<string, unknown> & { alerts: Record<string, unknown>[] };
    const problem = (b: unknown) => {
      const parsed = parseAlertNotification(b);
      return parsed.ok ? 'accepted' : parsed.problem;
    };
    expect(problem('garbage')).toMatch(/^body: /);
    expect(problem({ ...body(), version: '3' })).toBe('version: only webhook payload version 4 is understood');
    expect(problem({ ...body(), alerts: [] })).toBe('alerts: has no alerts');
    const noFingerprint = body();
    delete noFingerprint.alerts[0]?.fingerprint;
    expect(problem(noFingerprint)).toMatch(/^alerts\.0\.fingerprint: /);
    const badTime = body();
    badTime.alerts[0]!.startsAt = 'yesterday';
    expect(problem(badTime)).toMatch(/^alerts\.0\.startsAt: /);
    const badLabel = body();
    badLabel.alerts[0]!.labels = { 'bad-name': 'x' };
    expect(problem(badLabel)).toMatch(/^alerts\.0\.labels/);
  });
});

describe('one notification after another', () => {
  it('follows a group from its first alert to all resolved: repeats change nothing', () => {
    const steps: Sample[] = ['firstFiring', 'repeat', 'changeSecondAlertAdded', 'truncatedByMaxAlerts', 'partialResolve', 'allResolved'];
    let previous: AlertNotification | null = null;
    const seen: string[] = [];
    for (const step of steps) {
      const incoming = notification(step);
      const change = compareNotifications(previous, incoming);
      const transitions = 'transitions' in change ? change.transitions.map((t) => `${t.alert.labels.instance} ${t.status}`) : [];
      seen.push(`${step}: ${change.kind}${transitions.length ? ` (${transitions.join(', ')})` : ''}`);
      if (change.kind !== 'repeat') previous = incoming;
    }
    expect(seen).toEqual([
      'firstFiring: new (db1:9187 firing)',
      'repeat: repeat',
      'changeSecondAlertAdded: changed (db2:9187 firing)',
      // db3 fires, but max_alerts left it out: only the count says so.
      'truncatedByMaxAlerts: changed',
      'partialResolve: changed (db1:9187 resolved)',
      'allResolved: changed (db2:9187 resolved, db3:9187 resolved)',
    ]);
  });

  it('gives the same digest to the same content whatever the order of alerts and labels', () => {
    const a = notification('changeSecondAlertAdded');
    const b = { ...a, alerts: [...a.alerts].reverse().map((x) => ({ ...x, labels: Object.fromEntries(Object.entries(x.labels).reverse()) })) };
    expect(notificationDigest(b)).toBe(notificationDigest(a));
    expect(notificationDigest({ ...a, truncatedAlerts: 1 })).not.toBe(notificationDigest(a));
  });

  it('starts a new episode when a resolved group fires again, and ignores a late copy of what resolved', () => {
    const resolved = notification('allResolved');
    const again = { ...notification('firstFiring'), alerts: notification('firstFiring').alerts.map((x) => ({ ...x, startsAt: '2026-12-03T13:00:00.000Z' })) };
    expect(compareNotifications(resolved, again)).toMatchObject({ kind: 'new', transitions: [{ status: 'firing' }] });
    // db2 firing with the start it resolved with: a copy from before the resolution.
    const late = { ...resolved, status: 'firing' as const, alerts: resolved.alerts.slice(0, 1).map((x) => ({ ...x, status: 'firing' as const, endsAt: null })) };
    expect(compareNotifications(resolved, late)).toEqual({ kind: 'stale' });
  });
});
