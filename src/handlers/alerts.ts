/**
 * `alerts`: what is firing now. From Alertmanager (`GET /api/v2/alerts`) when ALERTMANAGER_URL is
 * set; otherwise, or when it cannot be reached, what the bot has received and not seen resolved,
 * with how long ago Alertmanager last spoke of it.
 */
import { describeFailure } from '../ops/failure.js';
import { listAlertmanagerAlerts } from '../ops/alertmanager/alertmanager-api.js';
import { listFiringAlertGroups } from '../state/alert-groups.js';
import type { Services } from '../context.js';
import { withTimeout } from '../with-timeout.js';
import { defineHandler, noArgs } from './handler.js';

export interface FiringAlert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: Date;
  generatorURL: string;
  /** Silenced or inhibited in Alertmanager (known only when asked there). */
  suppressed: boolean;
  /** When the bot last heard of it (received alerts only). */
  heardAt: Date | null;
}

export interface AlertsResult {
  measuredAt: Date;
  source: 'alertmanager' | 'received';
  /** Why Alertmanager was not asked or did not answer (shown above the received alerts). */
  alertmanagerProblem: string | null;
  alerts: FiringAlert[];
  /** Alerts of received groups that Alertmanager left out of its notifications (max_alerts). */
  truncated: number;
}

const SEVERITY_ORDER = ['critical', 'warning', 'info'];
const rank = (a: FiringAlert) => {
  const i = SEVERITY_ORDER.indexOf(a.labels.severity ?? '');
  return i === -1 ? SEVERITY_ORDER.length : i;
};
const bySeverityThenAge = (a: FiringAlert, b: FiringAlert) => rank(a) - rank(b) || a.startsAt.getTime() - b.startsAt.getTime();

export const alertsHandler = defineHandler({
  name: 'alerts',
  usage: 'alerts',
  summary: 'the alerts firing now (from Alertmanager when ALERTMANAGER_URL is set, else those the bot received)',
  args: noArgs,
  run: (_args, ctx) => readAlerts(ctx),
  verdict: alertsVerdict,
});

/** The incident timeline's line: "alerts: 2 firing", "alerts: none firing". */
export function alertsVerdict(result: AlertsResult): string {
  const count = result.alerts.length + result.truncated;
  const from = result.source === 'received' ? ' (as received; Alertmanager not asked or not answering)' : '';
  return `alerts: ${count === 0 ? 'none' : count} firing${from}`;
}

/**
 * The alerts firing now, as `alerts` and the App Home show them. `alertmanagerWithinMs` bounds the
 * wait for Alertmanager (else its own 5 s), after which the received alerts are shown instead.
 */
export async function readAlerts(
  services: Pick<Services, 'config' | 'state' | 'now'>,
  options: { alertmanagerWithinMs?: number } = {},
): Promise<AlertsResult> {
  const url = services.config.alerts.alertmanagerUrl;
  let problem: string | null = url ? null : 'ALERTMANAGER_URL is not set';
  if (url) {
    try {
      const asked = listAlertmanagerAlerts(url);
      const alerts = (options.alertmanagerWithinMs === undefined ? await asked : await withTimeout(asked, options.alertmanagerWithinMs, 'Alertmanager'))
        .filter((a) => a.state !== 'unprocessed')
        .map((a): FiringAlert => ({
          fingerprint: a.fingerprint,
          labels: a.labels,
          annotations: a.annotations,
          startsAt: new Date(a.startsAt),
          generatorURL: a.generatorURL,
          suppressed: a.state === 'suppressed',
          heardAt: null,
        }));
      return { measuredAt: services.now(), source: 'alertmanager', alertmanagerProblem: null, alerts: alerts.sort(bySeverityThenAge), truncated: 0 };
    } catch (error) {
      problem = describeFailure(error);
    }
  }
  const groups = await listFiringAlertGroups(services.state);
  const seen = new Map<string, FiringAlert>();
  let truncated = 0;
  for (const group of groups) {
    truncated += group.notification.truncatedAlerts;
    for (const alert of group.notification.alerts) {
      if (alert.status !== 'firing' || seen.has(alert.fingerprint)) continue;
      seen.set(alert.fingerprint, {
        fingerprint: alert.fingerprint,
        labels: alert.labels,
        annotations: alert.annotations,
        startsAt: new Date(alert.startsAt),
        generatorURL: alert.generatorURL,
        suppressed: false,
        heardAt: group.heardAt,
      });
    }
  }
  return { measuredAt: services.now(), source: 'received', alertmanagerProblem: problem, alerts: [...seen.values()].sort(bySeverityThenAge), truncated };
}
