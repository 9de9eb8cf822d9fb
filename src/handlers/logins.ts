/**
 * `logins [--since D]`: the runbook's "Check for failed login attempts" (`kubectl logs … | grep -i
 * "authentication failed"`), done as an operator would read it: failed authentications in the
 * database pods' logs (wrong passwords, no pg_hba.conf entry, pg_hba.conf rejects), grouped by
 * user and client address, with how often and when first and last seen. When nothing can be read
 * (no pods, the log goes to files, a log line format the bot does not read) it says why.
 */
import { z } from 'zod';
import { findAuthFailures, type AuthFailures, type LogLineInput } from '../ops/postgres/auth-failures.js';
import { DEFAULT_LOG_LINE_PREFIX, readLogSettings, type LogSettings } from '../ops/postgres/log-settings.js';
import { readPodLogs } from '../ops/kube/pod-logs.js';
import { withTimeout } from '../with-timeout.js';
import { durationFlag, noWords, onlyFlags } from './args.js';
import { defineHandler } from './handler.js';

export type LoginsResult =
  | { configured: false }
  | {
      configured: true;
      measuredAt: Date;
      namespace: string;
      deployment: string;
      container: string;
      since: string | null;
      /** How many of the newest lines of each pod were read at most. */
      tailLines: number;
      pods: { pod: string; lines: number; error: string | null }[];
      failures: AuthFailures;
      /** The server's own settings, when the database answered. */
      settings: LogSettings | null;
      /** Why nothing could be read; null when the log was read. */
      unreadable: string | null;
      /** What the answer cannot say, and how to make it say it. */
      notes: string[];
    };

// A day of a busy server's log fits; the API server also stops at 4 MiB per pod (pod-logs.ts).
const TAIL_LINES = 50_000;
const LOGS_TIMEOUT_MS = 15_000;
const SETTINGS_TIMEOUT_MS = 2_000;
// `2026-12-03T12:06:25.369812345Z ` before each line (timestamps=true).
const KUBELET_STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) (.*)$/;

const loginsArgs = z
  .object({
    positional: noWords('takes no words, only --since D'),
    flags: onlyFlags({ since: durationFlag('--since takes a duration like 30m, 2h or 1d') }, (flag) => `does not take --${flag} (only --since D)`),
  })
  .transform(({ flags: { since } }) => ({ since: since?.text ?? null, sinceSeconds: since === undefined ? undefined : Math.ceil(since.ms / 1000) }));

export const loginsHandler = defineHandler({
  name: 'logins',
  usage: 'logins [--since D]',
  summary: "failed authentications in the database's log (wrong password, no pg_hba.conf entry), by user and client address",
  args: loginsArgs,
  async run(args, ctx): Promise<LoginsResult> {
    const { kube } = ctx;
    if (kube === null) return { configured: false };
    const { namespace, deployment, container } = ctx.config.database;
    const settings = withTimeout(readLogSettings(ctx.db), SETTINGS_TIMEOUT_MS, 'the database').catch((error: unknown) => {
      ctx.log.debug({ err: error }, 'log settings unavailable');
      return null;
    });
    const logs = await withTimeout(
      readPodLogs(kube, {
        namespace,
        deployment,
        container,
        tailLines: TAIL_LINES,
        sinceSeconds: args.sinceSeconds,
        timestamps: true,
        signal: AbortSignal.timeout(LOGS_TIMEOUT_MS + 250),
      }),
      LOGS_TIMEOUT_MS,
      'Kubernetes',
    );
    const input: LogLineInput[] = logs.pods.flatMap((pod) => pod.lines.map((line) => kubeletLine(pod.pod, line)));
    const failures = findAuthFailures(input);
    const server = await settings;
    const pods = logs.pods.map((p) => ({ pod: p.pod, lines: p.lines.length, error: p.error }));
    return {
      configured: true,
      measuredAt: ctx.now(),
      namespace,
      deployment,
      container,
      since: args.since,
      tailLines: TAIL_LINES,
      pods,
      failures,
      settings: server,
      unreadable: unreadable(pods, failures, server, args.since),
      notes: notes(failures, server),
    };
  },
});

function kubeletLine(pod: string, line: string): LogLineInput {
  const match = KUBELET_STAMP.exec(line);
  if (!match?.[1]) return { source: pod, text: line };
  return { source: pod, text: match[2] ?? '', stamp: match[1].replace(/(\.\d{3})\d+/, '$1') };
}

/** Why the answer cannot be trusted to be complete, as one sentence; null when the log was read. */
export function unreadable(pods: { pod: string; lines: number; error: string | null }[], failures: AuthFailures, settings: LogSettings | null, since: string | null): string | null {
  if (pods.length > 0 && pods.every((p) => p.error !== null)) {
    return `No pod's log could be read: ${pods.map((p) => `${p.pod}: ${p.error ?? ''}`).join('; ')}.`;
  }
  if (settings?.loggingCollector || failures.collectorRedirect) {
    return 'PostgreSQL writes its log to files inside the container (logging_collector = on), which the Kubernetes API cannot read: set logging_collector = off (the official image\'s default) so that the log goes to the container\'s output.';
  }
  if (settings !== null && !settings.logDestination.split(',').map((d) => d.trim()).includes('stderr')) {
    return `PostgreSQL's log_destination is '${settings.logDestination}', not stderr: the container's output holds no log to read.`;
  }
  if (failures.lines === 0) return `The database pods' logs are empty${since === null ? '' : ` for the last ${since}`}: there is nothing to read.`;
  if (failures.recognised === 0) {
    const prefix = settings === null ? '' : ` (the server's is '${settings.logLinePrefix}')`;
    return `None of the ${failures.lines} log lines is in PostgreSQL's format with log_line_prefix '${DEFAULT_LOG_LINE_PREFIX}'${prefix}: the bot reads lines that start with the timestamp and [process ID].`;
  }
  return null;
}

function notes(failures: AuthFailures, settings: LogSettings | null): string[] {
  const out: string[] = [];
  if (settings !== null && !settings.logLinePrefix.startsWith(DEFAULT_LOG_LINE_PREFIX)) {
    out.push(`log_line_prefix is '${settings.logLinePrefix}', not the default '${DEFAULT_LOG_LINE_PREFIX}': lines that do not start with it are not read.`);
  }
  if (failures.addressesUnknown > 0) {
    out.push(
      settings?.logConnections
        ? `${failures.addressesUnknown} failed password logins have no client address: their "connection received" line was not among the lines read.`
        : `${failures.addressesUnknown} failed password logins have no client address: the default log_line_prefix has none; set log_connections = on to log each connection's address.`,
    );
  }
  out.push("Only the running containers' logs are read (since each started); `logs --previous` shows a crashed one's.");
  return out;
}
