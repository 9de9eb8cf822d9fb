/**
 * `logs [--previous] [--since D] [--grep WORD] [--container NAME] [--lines N]`: the runbook's log
 * review (`kubectl logs … --tail=100`, `--since=1h | grep -i error`) across the database
 * deployment's pods, with error lines marked; `--previous` reads the crashed container's log.
 */
import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { readPodLogs } from '../ops/kube/pod-logs.js';
import { withTimeout } from '../with-timeout.js';
import { defineHandler } from './handler.js';

export interface LogLine {
  text: string;
  /** An ERROR, FATAL or PANIC line (PostgreSQL's severities; `level=error` in an exporter's logfmt). */
  error: boolean;
}

export interface PodLogLines {
  pod: string;
  /** Oldest first, as the log has them. */
  lines: LogLine[];
  /** How many lines were read from the pod before --grep kept the matching ones. */
  scanned: number;
  error: string | null;
}

export type LogsResult =
  | { configured: false }
  | {
      configured: true;
      measuredAt: Date;
      namespace: string;
      deployment: string;
      container: string;
      lines: number;
      since: string | null;
      grep: string | null;
      /** The previous (crashed) instance of each pod's container. */
      previous: boolean;
      /** With --grep: the lines searched per pod (the matches among them are shown). */
      scanLines: number | null;
      pods: PodLogLines[];
    };

const FLAGS = ['since', 'grep', 'container', 'lines', 'previous'] as const;
const DEFAULT_LINES = 100;
const MAX_LINES = 1_000;
// --grep searches this many of the newest lines of each pod, like `--tail=5000 | grep -i WORD`.
const GREP_SCAN_LINES = 5_000;
// Several pods' logs over a slow API server take longer than one status source.
const LOGS_TIMEOUT_MS = 15_000;

const ERROR_LINE = /\b(?:ERROR|FATAL|PANIC)\b|\blevel=(?:error|fatal|panic)\b/;

const logsArgs = z
  .object({ positional: z.array(z.string()), flags: z.record(z.string(), z.union([z.string(), z.literal(true)])) })
  .transform((raw, ctx) => {
    const fail = (message: string): never => {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    };
    if (raw.positional.length > 0) return fail(`takes no words, only options: to search for "${raw.positional.join(' ')}" use --grep`);
    const unknown = Object.keys(raw.flags).find((f) => !(FLAGS as readonly string[]).includes(f));
    if (unknown !== undefined) return fail(`does not take --${unknown} (it takes --previous, --since, --grep, --container and --lines)`);
    const { since, grep, container, lines, previous } = raw.flags;
    if (previous !== undefined && previous !== true) return fail('--previous takes no value');

    let sinceMs: number | undefined;
    if (since !== undefined) {
      sinceMs = typeof since === 'string' ? parseDuration(since) : undefined;
      if (sinceMs === undefined || sinceMs <= 0) return fail('--since takes a duration like 30s, 10m or 2h');
    }
    if (grep !== undefined && (typeof grep !== 'string' || grep.trim() === '')) return fail('--grep takes a word to look for');
    if (typeof grep === 'string' && grep.length > 200) return fail('--grep takes at most 200 characters');
    if (container !== undefined && (typeof container !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(container))) {
      return fail('--container takes a container name (lowercase letters, digits and dashes)');
    }
    let lineCount = DEFAULT_LINES;
    if (lines !== undefined) {
      lineCount = typeof lines === 'string' && /^\d+$/.test(lines) ? Number(lines) : NaN;
      if (!(lineCount >= 1 && lineCount <= MAX_LINES)) return fail(`--lines must be between 1 and ${MAX_LINES}`);
    }
    return {
      sinceSeconds: sinceMs === undefined ? undefined : Math.ceil(sinceMs / 1000),
      since: typeof since === 'string' ? since : null,
      grep: typeof grep === 'string' ? grep : null,
      container: typeof container === 'string' ? container : undefined,
      lines: lineCount,
      previous: previous === true,
    };
  });

export const logsHandler = defineHandler({
  name: 'logs',
  usage: 'logs [--previous] [--since D] [--grep WORD] [--container NAME] [--lines N]',
  summary: `pod logs of the database deployment (last ${DEFAULT_LINES} lines, errors marked); --previous: the crashed container's; --grep keeps lines containing WORD (any case)`,
  args: logsArgs,
  async run(args, ctx): Promise<LogsResult> {
    const { kube } = ctx;
    if (kube === null) return { configured: false };
    const { namespace, deployment } = ctx.config.database;
    const container = args.container ?? ctx.config.database.container;
    const scanLines = args.grep === null ? null : Math.max(GREP_SCAN_LINES, args.lines);
    const logs = await withTimeout(
      readPodLogs(kube, {
        namespace,
        deployment,
        container,
        tailLines: scanLines ?? args.lines,
        sinceSeconds: args.sinceSeconds,
        previous: args.previous,
        signal: AbortSignal.timeout(LOGS_TIMEOUT_MS + 250),
      }),
      LOGS_TIMEOUT_MS,
      'Kubernetes',
    );
    const matches = args.grep === null ? () => true : containsIgnoringCase(args.grep);
    return {
      configured: true,
      measuredAt: ctx.now(),
      namespace,
      deployment,
      container,
      lines: args.lines,
      since: args.since,
      grep: args.grep,
      previous: args.previous,
      scanLines,
      pods: logs.pods.map((pod) => ({
        pod: pod.pod,
        lines: pod.lines
          .filter(matches)
          .slice(-args.lines)
          .map((text) => ({ text, error: ERROR_LINE.test(text) })),
        scanned: pod.lines.length,
        error: pod.error,
      })),
    };
  },
});

/**
 * A literal, case-insensitive match: what an operator types in Slack is never a pattern, so
 * `--grep "a.b(c"` finds exactly that text and cannot make a pathological regular expression.
 */
function containsIgnoringCase(word: string): (line: string) => boolean {
  const needle = word.toLocaleLowerCase('en-US');
  return (line) => line.toLocaleLowerCase('en-US').includes(needle);
}
