/**
 * Alertmanager's webhook payload, version 4 (what a `webhook_configs` receiver POSTs), parsed with
 * zod and normalized: times as ISO strings, a firing alert's endsAt (always 0001-01-01 on the
 * wire) as null. Anything else is refused whole, so a malformed body changes nothing.
 *
 *   const parsed = parseAlertNotification(JSON.parse(body)); // { ok: true, notification } | { ok: false, problem }
 */
import { z } from 'zod';

export type AlertStatus = 'firing' | 'resolved';

export interface NotifiedAlert {
  fingerprint: string;
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  /** When it resolved; null while firing. */
  endsAt: string | null;
  generatorURL: string;
}

export interface AlertNotification {
  groupKey: string;
  status: AlertStatus;
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  /** Alerts of the group left out of this body by the receiver's max_alerts. */
  truncatedAlerts: number;
  alerts: NotifiedAlert[];
}

// Prometheus label names; values are free text but bounded, like everything read from the network.
const labelSet = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'is not a label name').max(128), z.string().max(4_096));
const annotationSet = z.record(z.string().max(128), z.string().max(16_384));
const time = z.iso.datetime({ offset: true });
// Go's zero time: what Alertmanager sends as the endsAt of a firing alert.
const ZERO_TIME_YEAR = 1;

const webhookAlert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet,
  annotations: annotationSet.default({}),
  startsAt: time,
  endsAt: time,
  generatorURL: z.string().max(4_096).default(''),
  fingerprint: z.string().regex(/^[0-9a-f]{1,32}$/, 'must be hex'),
});

const webhookPayload = z.object({
  version: z.literal('4', { message: 'only webhook payload version 4 is understood' }),
  groupKey: z.string().min(1).max(4_096),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(1_024).default(''),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: annotationSet.default({}),
  externalURL: z.string().max(4_096).default(''),
  truncatedAlerts: z.number().int().min(0).default(0),
  alerts: z.array(webhookAlert).min(1, 'has no alerts'),
});

const iso = (text: string): string => new Date(text).toISOString();

export function parseAlertNotification(body: unknown): { ok: true; notification: AlertNotification } | { ok: false; problem: string } {
  const parsed = webhookPayload.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, problem: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'is invalid'}` };
  }
  const p = parsed.data;
  return {
    ok: true,
    notification: {
      groupKey: p.groupKey,
      status: p.status,
      receiver: p.receiver,
      groupLabels: p.groupLabels,
      commonLabels: p.commonLabels,
      commonAnnotations: p.commonAnnotations,
      externalURL: p.externalURL,
      truncatedAlerts: p.truncatedAlerts,
      alerts: p.alerts.map((a) => ({
        fingerprint: a.fingerprint,
        status: a.status,
        labels: a.labels,
        annotations: a.annotations,
        startsAt: iso(a.startsAt),
        endsAt: a.status === 'resolved' && new Date(a.endsAt).getUTCFullYear() > ZERO_TIME_YEAR ? iso(a.endsAt) : null,
        generatorURL: a.generatorURL,
      })),
    },
  };
}
