/**
 * `logs [--previous] [--since D] [--grep WORD] [--container NAME] [--lines N]`: the runbook's log
 * review (`kubectl logs … --tail=100`, `--since=1h | grep -i error`) across the database
 * deployment's pods, with error lines marked; `--previous` reads the crashed container's log.
 */
import { z } from 'zod';
import { readPodLogs } from '../ops/kube/pod-logs.js';
import { withTimeout } from '../with-timeout.js';
import { countFlag, durationFlag, noWords, onlyFlags, switchFlag } from './args.js';
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

const DEFAULT_LINES = 100;
const MAX_LINES = 1_000;
// --grep searches this many of the newest lines of each pod, like `--tail=5000 | grep -i WORD`.
const GREP_SCAN_LINES = 5_000;
// Several pods' logs over a slow API server take longer than one status source.
const LOGS_TIMEOUT_MS = 15_000;

const CONTAINER_PROBLEM = '--container takes a container name (lowercase letters, digits and dashes)';

const ERROR_LINE = /\b(?:ERROR|FATAL|PANIC)\b|\blevel=(?:error|fatal|panic)\b/;

const logsArgs = z
  .object({
    positional: noWords((words) => `takes no words, only options: to search for "${words.join(' ')}" use --grep`),
    flags: onlyFlags(
      {
        previous: switchFlag('--previous takes no value'),
        since: durationFlag('--since takes a duration like 30s, 10m or 2h'),
        grep: z
          .string({ error: '--grep takes a word to look for' })
          .refine((word) => word.trim() !== '', '--grep takes a word to look for')
          .refine((word) => word.length <= 200, '--grep takes at most 200 characters')
          .optional(),
        container: z
          .string({ error: CONTAINER_PROBLEM })
          .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, CONTAINER_PROBLEM)
          .optional(),
        lines: countFlag({ min: 1, max: MAX_LINES }, `--lines must be between 1 and ${MAX_LINES}`),
      },
      (flag) => `does not take --${flag} (it takes --previous, --since, --grep, --container and --lines)`,
    ),
  })
  .transform(({ flags }) => ({
    sinceSeconds: flags.since === undefined ? undefined : Math.ceil(flags.since.ms / 1000),
    since: flags.since?.text ?? null,
    grep: flags.grep ?? null,
    container: flags.container,
    lines: flags.lines ?? DEFAULT_LINES,
    previous: flags.previous === true,
  }));

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
