/**
 * `events [--since D]`: the runbook's `kubectl describe pod …` "Events:" part, for everything the
 * database is made of — its pods, ReplicaSets, deployment and volume claim — as one list of
 * Kubernetes warnings, newest first, each with how often and how long ago.
 */
import { z } from 'zod';
import { readWarningEvents, type WarningEvent } from '../ops/kube/warning-events.js';
import { withTimeout } from '../with-timeout.js';
import { durationFlag, noWords, onlyFlags } from './args.js';
import { defineHandler } from './handler.js';

export type EventsResult =
  | { configured: false }
  | {
      configured: true;
      measuredAt: Date;
      namespace: string;
      deployment: string;
      pvc: string;
      since: string | null;
      events: WarningEvent[];
      /** Warnings in the namespace about other objects. */
      otherCount: number;
    };

const EVENTS_TIMEOUT_MS = 10_000;

const eventsArgs = z
  .object({
    positional: noWords('takes no words, only --since D'),
    flags: onlyFlags({ since: durationFlag('--since takes a duration like 30m or 2h') }, (flag) => `does not take --${flag} (it takes --since)`),
  })
  .transform(({ flags }) => ({ since: flags.since?.text ?? null, sinceMs: flags.since?.ms ?? null }));

export const eventsHandler = defineHandler({
  name: 'events',
  usage: 'events [--since D]',
  summary: "Kubernetes warning events of the database's pods, volume claim and deployment, newest first, with count and age",
  args: eventsArgs,
  async run(args, ctx): Promise<EventsResult> {
    const { kube } = ctx;
    if (kube === null) return { configured: false };
    const { namespace, deployment, pvc } = ctx.config.database;
    const now = ctx.now();
    const found = await withTimeout(
      readWarningEvents(kube, {
        namespace,
        deployment,
        pvc,
        since: args.sinceMs === null ? undefined : new Date(now.getTime() - args.sinceMs),
        signal: AbortSignal.timeout(EVENTS_TIMEOUT_MS + 250),
      }),
      EVENTS_TIMEOUT_MS,
      'Kubernetes',
    );
    return { configured: true, measuredAt: now, namespace, deployment, pvc, since: args.since, events: found.events, otherCount: found.otherCount };
  },
  verdict: eventsVerdict,
});

/** The incident timeline's line: "events: 3 warnings (newest: BackOff)". */
export function eventsVerdict(result: EventsResult): string {
  if (!result.configured) return 'events: Kubernetes is not configured';
  const n = result.events.length;
  const newest = result.events[0] ? ` (newest: ${result.events[0].reason})` : '';
  return `events: ${n === 0 ? 'no' : n} ${n === 1 ? 'warning' : 'warnings'}${newest}`;
}
