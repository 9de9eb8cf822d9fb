/** The alert group's message in each state, from Alertmanager's real bodies, as the operator reads it. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { alertGroupView } from '../../src/bot/views/alert-group-view.js';
import { parseAlertNotification, type AlertNotification } from '../../src/ops/alertmanager/webhook-payload.js';
import type { AlertGroup } from '../../src/state/alert-groups.js';

const samples = JSON.parse(readFileSync(new URL('../fixtures/alertmanager-webhooks.json', import.meta.url), 'utf8')) as Record<string, { body: unknown }>;
const NOW = new Date('2026-12-03T12:01:12.607Z');

function notification(name: string): AlertNotification {
  const parsed = parseAlertNotification(structuredClone(samples[name]?.body));
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.notification;
}

function group(n: AlertNotification, extra: Partial<AlertGroup> = {}): AlertGroup {
  return {
    id: 42, groupKey: n.groupKey, current: true, channel: 'C_ALERTS', status: n.status, notification: n, version: 1, drawnVersion: 0, messageTs: null,
    startedAt: NOW, changedAt: NOW, heardAt: NOW, resolvedAt: n.status === 'resolved' ? new Date('2026-12-03T11:46:20.000Z') : null, silence: null, muted: null, mutedSeenAt: null, incidentId: null,
    ...extra,
  };
}

const view = (g: AlertGroup, canSilence = true) => {
  const message = alertGroupView(g, { now: NOW, canSilence });
  return { message, ...renderBlocks(message, { width: 1_000 }) };
};
const buttons = (g: AlertGroup, canSilence = true) => view(g, canSilence).choices.map((c) => `${c.label} ${c.actionId}:${c.value}`);

describe('the alert group message', () => {
  it('shows a firing alert: severity, summary, the labels that matter, since when, and a link to the graph', () => {
    const { text, message } = view(group(notification('firstFiring')));
    expect(text).toContain('🔥 [CRITICAL] PostgresDown');
    expect(text).toContain('1 firing · since 2026-12-03 11:46:12 UTC (15m)');
    expect(text).toContain('critical · pg down on db1');
    expect(text).toContain('pg_up == 0');
    expect(text).toContain('instance=db1:9187');
    expect(text).not.toContain('alertname=');
    expect(text).toContain('graph (http://prometheus.local/graph?g0.expr=pg_up+%3D%3D+0)');
    expect(text).toContain('Alertmanager (http://vm:35549)');
    expect(message.text).toBe('FIRING: PostgresDown — pg down on db1');
  });

  it('has Status, Active queries, Start incident and Silence 1h, each naming the group', () => {
    expect(buttons(group(notification('firstFiring')))).toEqual([
      'Status alert_status:42', 'Active queries alert_active:42', 'Start incident alert_start_incident:42', 'Silence 1h alert_silence:42',
    ]);
    // Without ALERTMANAGER_URL there is nothing to silence with.
    expect(buttons(group(notification('firstFiring')), false)).not.toContain('Silence 1h alert_silence:42');
  });

  it('says +N more for what max_alerts left out', () => {
    const { text } = view(group(notification('truncatedByMaxAlerts')));
    expect(text).toContain('2 firing');
    expect(text).toContain("+1 more alert in this group (1 left out of the notification by the receiver's max_alerts)");
  });

  it('shows a partly resolved group with the firing alerts first', () => {
    const { text } = view(group(notification('partialResolve')));
    expect(text).toContain('1 firing, 1 resolved');
    expect(text.indexOf('pg down on db2')).toBeLessThan(text.indexOf('pg down on db1'));
    expect(text).toContain('Fired 2026-12-03 11:46:12 UTC → 2026-12-03 11:46:19 UTC (7.0s)');
  });

  it('turns green when resolved, says how long it fired, and drops the buttons', () => {
    const resolved = group(notification('allResolved'));
    const { text, message, choices } = view(resolved);
    expect(text).toContain('✅ Resolved: PostgresDown');
    expect(text).toContain('🟢 Resolved at 2026-12-03 11:46:20 UTC after firing for');
    expect(message.text).toMatch(/^RESOLVED: PostgresDown after \d/);
    expect(choices).toEqual([]);
  });

  it('shows who silenced it until when, with Expire silence instead of Silence 1h', () => {
    const silenced = group(notification('firstFiring'), { silence: { id: 'b3d078d6-1835-4a59-bfad-a2dd2a851833', by: 'U_CAROL', until: new Date('2026-12-03T13:01:12Z') } });
    expect(view(silenced).text).toContain('🔕 Silenced in Alertmanager by @U_CAROL until 2026-12-03 13:01:12 UTC');
    expect(buttons(silenced)).toContain('Expire silence alert_expire_silence:42');
    expect(buttons(silenced)).not.toContain('Silence 1h alert_silence:42');
    // A silence that has run out is not shown.
    const over = group(notification('firstFiring'), { silence: { id: 'x', by: 'U_CAROL', until: new Date('2026-12-03T12:00:00Z') } });
    expect(view(over).text).not.toContain('Silenced');
    expect(buttons(over)).toContain('Silence 1h alert_silence:42');
  });

  it('says what else mutes it in Alertmanager: a silence made there (by whom, until when, why) or an inhibition', () => {
    const muted = group(notification('firstFiring'), {
      muted: [
        { kind: 'silence', id: '0d5b3c2e-7d0f-4d57-9a43-4f0a1d2c3b4a', createdBy: 'erin <script>', comment: 'disk swap\nin progress', endsAt: '2026-12-03T13:00:00.000Z' },
        { kind: 'silence', id: 'f1e2d3c4-0000-4000-8000-000000000000', createdBy: null, comment: null, endsAt: null },
        { kind: 'inhibition', by: 'RecipeDatabaseExporterMissing' },
        { kind: 'inhibition', by: null },
      ],
    });
    const { text, message } = view(muted);
    expect(text).toContain('🔕 Muted in Alertmanager: silenced by erin <script> until 2026-12-03 13:00:00 UTC (silence 0d5b3c2e-7d0f-4d57-9a43-4f0a1d2c3b4a): “disk swap in progress”');
    expect(JSON.stringify(message.blocks)).not.toContain('<script>');
    expect(text).toContain('🔕 Muted in Alertmanager: silenced (silence f1e2d3c4-0000-4000-8000-000000000000)');
    expect(text).toContain('🔕 Muted in Alertmanager: inhibited by RecipeDatabaseExporterMissing');
    expect(text).toContain('and 1 more silences or inhibitions');
    // Still firing: the buttons stay.
    expect(buttons(muted)).toContain('Silence 1h alert_silence:42');
    const one = group(notification('firstFiring'), { muted: [{ kind: 'inhibition', by: null }] });
    expect(view(one).text).toContain('🔕 Muted in Alertmanager: inhibited by an inhibition rule');
    // Resolved, nothing mutes it any more.
    expect(view({ ...group(notification('allResolved')), muted: [{ kind: 'inhibition', by: null }] }).text).not.toContain('Muted');
  });

  it('names the incident started from it and offers no second one', () => {
    const withIncident = group(notification('firstFiring'), { incidentId: 7 });
    expect(view(withIncident).text).toContain('Incident #7 was started from this alert');
    expect(buttons(withIncident).some((b) => b.startsWith('Start incident'))).toBe(false);
  });

  it('offers Kill… only for an alert whose rule says runbook_action="kill" with a threshold', () => {
    const long = notification('firstFiring');
    const alert = long.alerts[0]!;
    alert.labels = { ...alert.labels, alertname: 'RecipeDatabaseLongTransaction', runbook_action: 'kill', datname: 'recipe_database' };
    alert.annotations = { ...alert.annotations, kill_older_than: '10m', runbook_url: 'https://example.org/runbook#long' };
    const { text } = view(group(long));
    expect(buttons(group(long))).toContain('Kill… (older than 10m) alert_kill:42');
    expect(text).toContain('Runbook (https://example.org/runbook#long)');
    expect(text).not.toContain('runbook_action=');
    alert.annotations = { ...alert.annotations, kill_older_than: 'soon' };
    expect(buttons(group(long)).some((b) => b.startsWith('Kill'))).toBe(false);
  });

  it('keeps a link that would break Slack\'s markup out of the message, and escapes what alerts say', () => {
    const n = notification('firstFiring');
    n.alerts[0]!.generatorURL = 'javascript:alert(1)';
    n.alerts[0]!.annotations.summary = 'db <b>down</b> & out';
    const { message } = view(group(n));
    const json = JSON.stringify(message.blocks);
    expect(json).not.toContain('javascript:');
    expect(json).toContain('db &lt;b&gt;down&lt;/b&gt; &amp; out');
  });
});
