/**
 * Failed authentications, by user and client address, most frequent first:
 *
 *   • recipe_api from 10.244.1.7 — 12× wrong password · first 2026-12-03 12:06:25 UTC · last 12:41:02 UTC
 *   • ghost from unknown address — 3× wrong password (Role "ghost" does not exist.)
 *
 * or the one sentence saying why nothing could be read.
 */
import type { LoginsResult } from '../../handlers/logins.js';
import type { AuthFailureGroup, AuthFailureKind } from '../../ops/postgres/auth-failures.js';
import { formatCount, formatTime } from '../../format.js';
import { context, escapeMrkdwn, fitMessage, header, listWithMore, measuredAt, message, section, type Block, type Message } from '../blocks.js';

const MAX_GROUPS = 25;

const KIND: Record<AuthFailureKind, string> = {
  password: 'wrong password',
  'other-method': 'failed authentication',
  'no-hba-entry': 'no pg_hba.conf entry',
  'hba-reject': 'rejected by pg_hba.conf',
};

export function loginsView(result: LoginsResult): Message {
  if (!result.configured) {
    const text = "Kubernetes is not configured, so the database's log cannot be read: set KUBECONFIG, or run the bot in the cluster.";
    return message(text, [section(text)]);
  }
  const where = `${result.namespace}/${result.deployment}`;
  const { failures } = result;
  const total = failures.groups.reduce((sum, g) => sum + g.count, 0);
  const scope = [
    result.since === null ? `the newest ${formatCount(result.tailLines)} lines of each pod` : `the last ${result.since}`,
    `${formatCount(failures.lines)} lines read from ${result.pods.length} ${result.pods.length === 1 ? 'pod' : 'pods'}`,
    `container ${result.container}`,
  ];
  const blocks: Block[] = [header(`Failed logins on ${where}`), context([escapeMrkdwn(scope.join(' · '))])];
  if (result.unreadable !== null) {
    blocks.push(section(`:warning: ${escapeMrkdwn(result.unreadable)}`));
  } else if (failures.groups.length === 0) {
    blocks.push(section(`No failed authentication in ${formatCount(failures.recognised)} PostgreSQL log lines.`));
  } else {
    blocks.push(section(`*${formatCount(total)} failed ${total === 1 ? 'authentication' : 'authentications'}, ${failures.groups.length} ${failures.groups.length === 1 ? 'user and address' : 'users and addresses'}*\n${listWithMore(failures.groups, MAX_GROUPS, groupLine, 'groups').join('\n')}`));
  }
  for (const pod of result.pods.filter((p) => p.error !== null)) blocks.push(context([escapeMrkdwn(`${pod.pod}: log unavailable — ${pod.error ?? ''}`)]));
  if (result.notes.length > 0) blocks.push(context(result.notes.map(escapeMrkdwn)));
  blocks.push(measuredAt(result.measuredAt));
  const text = result.unreadable ?? (total === 0 ? `No failed logins on ${where}` : `${total} failed logins on ${where}`);
  return fitMessage({ text, blocks });
}

function groupLine(g: AuthFailureGroup): string {
  const kinds = g.kinds.map((k) => KIND[k]).join(', ');
  const reasons = g.reasons.length === 0 ? '' : ` (${g.reasons.slice(0, 2).join(' ')})`;
  const databases = g.databases.length === 0 ? '' : ` · database ${g.databases.join(', ')}`;
  const seen = g.firstSeen === null ? '' : g.count === 1 || g.lastSeen === null || g.lastSeen.getTime() === g.firstSeen.getTime()
    ? ` · at ${formatTime(g.firstSeen)}`
    : ` · first ${formatTime(g.firstSeen)} · last ${formatTime(g.lastSeen)}`;
  const who = `*${escapeMrkdwn(g.user || '(no user)')}* from ${escapeMrkdwn(g.client ?? 'unknown address')}`;
  return `• ${who} — ${g.count}× ${escapeMrkdwn(`${kinds}${reasons}${databases}`)}${seen}`;
}
