/**
 * `kubectl get events --field-selector type=Warning` for the database: the warnings of its pods,
 * its ReplicaSets, its deployment and its volume claim, newest first, each with how often and how
 * long ago. Read from core/v1 Events, which show both what the kubelet and controllers write
 * (`count`, `lastTimestamp`) and what the scheduler writes through events.k8s.io (`series`,
 * `eventTime`, with the old fields empty), so both are read.
 *
 *   const warnings = await readWarningEvents(kube, { namespace: 'recipe-database', deployment: 'recipe-database', pvc: 'recipe-database-pvc' });
 *   // warnings.events[0] → { kind: 'Pod', name: 'recipe-database-7d9f8b-x2k4q', reason: 'BackOff', count: 12, lastSeen: Date, … }
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import { abortable } from './abortable.js';
import type { Kube } from './kube-client.js';
import { kubeFailure } from './kube-failure.js';

export interface WarningEvent {
  /** The object it is about: Pod, ReplicaSet, Deployment, PersistentVolumeClaim. */
  kind: string;
  name: string;
  reason: string;
  message: string;
  count: number;
  firstSeen: Date | null;
  lastSeen: Date | null;
  /** Who reported it: kubelet, default-scheduler… */
  source: string | null;
}

export interface WarningEvents {
  namespace: string;
  /** The database's own, newest first. */
  events: WarningEvent[];
  /** Warnings of the namespace about other objects, left out. */
  otherCount: number;
}

export interface WarningEventsTarget {
  namespace: string;
  deployment: string;
  pvc: string;
  /** Only events seen since then. */
  since?: Date;
  signal?: AbortSignal;
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether an event is about the database: its deployment, claim, or a ReplicaSet or pod named the way the deployment names them. */
export function isAboutDatabase(kind: string, name: string, target: Pick<WarningEventsTarget, 'deployment' | 'pvc'>): boolean {
  const d = escape(target.deployment);
  if (kind === 'Deployment') return name === target.deployment;
  if (kind === 'PersistentVolumeClaim') return name === target.pvc;
  // `NAME-<pod-template-hash>` and `NAME-<hash>-<5 characters>`: a deployment `recipe-database-exporter` has other hashes' shapes.
  if (kind === 'ReplicaSet') return new RegExp(`^${d}-[a-z0-9]{1,10}$`).test(name);
  if (kind === 'Pod') return new RegExp(`^${d}-[a-z0-9]{1,10}-[a-z0-9]{5}$`).test(name);
  return false;
}

export async function readWarningEvents(kube: Kube, target: WarningEventsTarget): Promise<WarningEvents> {
  const { namespace, since, signal } = target;
  const list = await kube.core.listNamespacedEvent({ namespace, fieldSelector: 'type=Warning' }, abortable(kube, signal)).catch((error: unknown) => {
    throw kubeFailure(error, { what: `list the events in ${namespace}` });
  });
  const all = list.items.map(toWarning).filter((e) => since === undefined || (e.lastSeen ?? new Date(0)) >= since);
  const mine = all.filter((e) => isAboutDatabase(e.kind, e.name, target));
  mine.sort((a, b) => (b.lastSeen?.getTime() ?? 0) - (a.lastSeen?.getTime() ?? 0));
  return { namespace, events: mine, otherCount: all.length - mine.length };
}

function toWarning(event: CoreV1Event): WarningEvent {
  const date = (value: Date | string | null | undefined): Date | null => (value ? new Date(value) : null);
  const first = date(event.firstTimestamp) ?? date(event.eventTime) ?? date(event.metadata.creationTimestamp);
  return {
    kind: event.involvedObject.kind ?? 'Unknown',
    name: event.involvedObject.name ?? '',
    reason: event.reason ?? '',
    message: (event.message ?? '').trim(),
    // As kubectl reads them: a series counts for the new writer, `count` for the old; at least once.
    count: event.series?.count ?? event.count ?? 1,
    firstSeen: first,
    lastSeen: date(event.series?.lastObservedTime) ?? date(event.lastTimestamp) ?? first,
    source: event.reportingComponent || event.source?.component || null,
  };
}
