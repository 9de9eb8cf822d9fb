import type { Blocker, LockWait } from '../../ops/postgres/lock-wait.js';
import type { LocksByMode } from '../../ops/postgres/locks.js';
import type { LocksResult } from '../../handlers/locks.js';
import { formatDuration } from '../../duration.js';
import { escapeMrkdwn, fitMessage, header, listWithMore, measuredAt, section, type Block, type Message, sqlSnippet } from '../blocks.js';

const MAX_BLOCKED = 10;
const MAX_BLOCKERS = 3;
// Shared by blocked and blocking query texts so that MAX_BLOCKED entries still fit one message.
const QUERY_TEXT_BUDGET = 5_000;

export function locksView(result: LocksResult): Message {
  const { blocked, byMode } = result.report;
  const blocks: Block[] = [header('Locks')];
  if (blocked.length === 0) {
    blocks.push(section(':large_green_circle: No query is waiting for a lock.'));
  } else {
    const texts = Math.min(blocked.length, MAX_BLOCKED) * 2;
    const queryChars = Math.max(80, Math.min(400, Math.floor(QUERY_TEXT_BUDGET / texts)));
    const noun = blocked.length - MAX_BLOCKED === 1 ? 'blocked query' : 'blocked queries';
    blocks.push(...listWithMore(blocked, MAX_BLOCKED, (b) => blockedEntry(b, queryChars), noun).map(section));
  }
  blocks.push(section(`*Locks by mode*\n${byMode.map(modeLine).join('\n') || 'none held'}`), measuredAt(result.measuredAt));
  return fitMessage({ text: summary(blocked), blocks });
}

function summary(blocked: LockWait[]): string {
  const first = blocked[0];
  if (!first) return 'No blocked queries.';
  const count = `${blocked.length} blocked ${blocked.length === 1 ? 'query' : 'queries'}`;
  return `${count}; pid ${first.pid} is blocked by ${first.blockers.map((b) => `pid ${b.pid}`).join(', ')}`;
}

function blockedEntry(b: LockWait, queryChars: number): string {
  const lock = b.wantedLock;
  const wants = lock ? ` for ${escapeMrkdwn(lock.mode)} on ${escapeMrkdwn(lock.relation ?? lock.lockType)}` : '';
  const lines = [
    `:red_circle: *pid ${b.pid}* (${escapeMrkdwn(who(b.user, b.application))}) waiting *${formatDuration(b.waitingMs)}*${wants}`,
    sqlSnippet(b.query, queryChars),
    ...listWithMore(b.blockers, MAX_BLOCKERS, (blocker) => blockerEntry(blocker, queryChars), 'blockers'),
  ];
  return lines.join('\n');
}

function blockerEntry(b: Blocker, queryChars: number): string {
  if (b.pid === 0) return 'blocked by a *prepared transaction* (see pg_prepared_xacts)';
  if (b.state === null) return `blocked by *pid ${b.pid}* (not visible to the bot)`;
  const facts = [escapeMrkdwn(who(b.user, b.application)), escapeMrkdwn(b.state)];
  if (b.transactionMs !== null) facts.push(`transaction open ${formatDuration(b.transactionMs)}`);
  return `blocked by *pid ${b.pid}* (${facts.join(', ')})\n${sqlSnippet(b.query ?? '', queryChars)}`;
}

function who(user: string | null, application: string | null): string {
  return [user ?? 'unknown user', application ?? ''].filter((part) => part !== '').join(' · ');
}

function modeLine(m: LocksByMode): string {
  return `${m.mode} ${m.granted} held${m.waiting ? `, *${m.waiting} waiting*` : ''}`;
}

