/**
 * Slack markup that comes from the database or from people (`<!channel>`, `<@U123>`, `&`, ```` ``` ````)
 * reaches Slack as text, never as a broadcast, a mention or a closed code fence: in every code
 * block and every notification `text`. First the views, then the real bot with a real session.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DraftMessage, Message } from '../../src/bot/blocks.js';
import { approvalView } from '../../src/bot/views/approval-view.js';
import { failureView, progressView } from '../../src/bot/views/usage-view.js';
import { incidentEventView, incidentRootView, incidentStatusView } from '../../src/bot/views/incident-view.js';
import { statusView } from '../../src/bot/views/status-view.js';
import type { ApprovalRequest } from '../../src/state/approvals.js';
import type { Incident, IncidentEvent } from '../../src/state/incidents.js';
import type { StatusResult } from '../../src/handlers/status.js';
import type { ServerStatus } from '../../src/ops/postgres/server-status.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { messageOf, tsOf } from '../support/slack-messages.js';

const HOSTILE = "SELECT '<!channel> <@U123> & ``` done' /* <!here> */";

/** Every string Slack parses as mrkdwn in a message: the notification text and each mrkdwn element. */
function mrkdwnStrings(message: DraftMessage): string[] {
  const found: string[] = [message.text];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.type === 'mrkdwn' && typeof o.text === 'string') found.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(message.blocks);
  return found;
}

/** No broadcast, no mention of U123, no bare `&`, and no fence closed early by the text. */
function expectInert(message: DraftMessage): void {
  for (const text of mrkdwnStrings(message)) {
    expect(text).not.toMatch(/<!(channel|here|everyone)>/);
    expect(text).not.toContain('<@U123>');
    expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/);
    expect(text).not.toMatch(/```\s*done/);
  }
}

function request(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  const now = new Date('2026-12-01T03:00:00Z');
  return {
    id: 'apr_1', action: 'kill', summary: 'terminate 1 backend running longer than 10m', planHash: 'ab'.repeat(32),
    plan: { targets: [`pid 42 · app · <!channel> app · active 12m · ${HOSTILE}`], plan: {} },
    requester: 'U_ALICE', channel: 'C_OPS', messageTs: '1.2', status: 'pending', createdAt: now, expiresAt: now,
    decidedBy: null, decidedAt: null, executedAt: null, outcome: null, ...overrides,
  };
}

const incident: Incident = {
  id: 7, channel: 'C_OPS', title: '<!channel> checkout & payments down', severity: 'sev1', status: 'open', declaredBy: 'U_ALICE',
  commander: 'U_ALICE', rootTs: '1.1', impact: null, rootCause: null, resolution: null, prevention: null,
  startedAt: new Date('2026-12-01T03:00:00Z'), resolvedAt: null,
};
const note: IncidentEvent = {
  id: 1, incidentId: 7, at: new Date('2026-12-01T03:01:00Z'), actor: 'U_CAROL', kind: 'note', text: '<!channel> <@U123> & ``` done',
  details: {}, sourceKey: null, threadTs: null,
};

describe('views', () => {
  it('keeps kill targets, progress and outcomes inert in the approval request', () => {
    expectInert(approvalView(request(), { approvers: ['U_BOB'] }));
    const approved = request({ status: 'approved', decidedBy: 'U_BOB', decidedAt: new Date() });
    expectInert(approvalView(approved, { approvers: ['U_BOB'], progress: `waiting for a lock held by pid 7 (<!channel> app): ${HOSTILE}` }));
    const outcome = { ok: false, summary: 'failed: relation "<!channel>" does not exist', lines: [HOSTILE] };
    expectInert(approvalView({ ...approved, outcome, executedAt: new Date() }, { approvers: ['U_BOB'] }));
    expectInert(approvalView(approved, { approvers: ['U_BOB'], unrecordedOutcome: outcome }));
  });

  it('keeps the hostile text readable', () => {
    const message: Message = approvalView(request(), { approvers: ['U_BOB'] });
    const targets = JSON.stringify(message.blocks);
    expect(targets).toContain('&lt;!channel&gt; &lt;@U123&gt; &amp;');
  });

  it('keeps failure reasons and progress inert', () => {
    expectInert(failureView('status', 'relation "<!channel> <@U123> & x" does not exist'));
    expectInert(progressView(`Step 4/6: restore — waiting for pid 7 (<!here>) running ${HOSTILE}`));
  });

  it("keeps status's longest transaction and application names inert", () => {
    const data = {
      version: 'PostgreSQL 15', versionNum: 150000, database: 'recipe<!channel>', startedAt: new Date(), uptimeSeconds: 10, maxConnections: 100,
      connections: [{ state: 'active', count: 1 }], totalConnections: 3, databaseConnections: 1, botConnections: 2, idleInTransaction: 1,
      cacheHitRatio: { tables: 1, indexes: 1 }, commits: 1, rollbacks: 0, deadlocks: 0, blocksHit: 1, blocksRead: 0, statsResetAt: null, databaseSizeBytes: 1,
      longestTransaction: { pid: 42, seconds: 600, state: 'idle in transaction <!here>', query: HOSTILE },
      blockedQueries: 0, locks: { granted: 1, waiting: 0 }, botLocks: 1, replication: [], isReplica: false,
    } satisfies ServerStatus;
    const result: StatusResult = {
      measuredAt: new Date(), verdict: 'WARN', reasons: ['a transaction (pid 42) <!channel> has been open'], viaReservedSession: false,
      postgres: { ok: true, data, ms: 1 }, kubernetes: null, service: null, warnings: null, nodes: [], exporter: null, trend: null,
    };
    expectInert(statusView(result));
  });

  it('keeps incident titles and notes inert in the notification text', () => {
    expectInert(incidentRootView(incident, new Date()));
    expectInert(incidentEventView(note));
    expectInert(incidentStatusView({ kind: 'status', incident, events: [note], eventCount: 1, now: new Date() }));
  });
});

describe('the bot, with hostile text in the database and in notes', () => {
  let bot: TestBot;
  let session: pg.Client;

  beforeAll(async () => {
    bot = await startTestBot({ env: { APPROVERS: 'U_BOB' } });
    session = new pg.Client({ connectionString: bot.databaseUrl, application_name: '<!channel> & co' });
    session.on('error', () => undefined);
    await session.connect();
    void session.query(`SELECT pg_sleep(600), '<!channel> <@U123> & \`\`\` done' AS x`).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1_200));
  });
  afterAll(async () => {
    await session.end().catch(() => undefined);
    await bot.stop();
  });

  it('posts kill targets and active queries without pinging anyone', async () => {
    bot.slack.reset();
    await bot.client.command('kill --older-than 1s');
    const posted = messageOf(await bot.slack.waitFor('chat.postMessage'));
    expect(JSON.stringify(posted.blocks)).toContain('&lt;!channel&gt; &amp; co');
    expectInert(posted);

    bot.slack.reset();
    await bot.client.command('active');
    expectInert(messageOf(await bot.slack.waitFor('chat.postMessage')));
  });

  it('posts an incident title and a note without pinging anyone', async () => {
    bot.slack.reset();
    // What Slack sends for a typed "<!channel>": the markup itself.
    await bot.client.command('incident start <!channel> checkout & payments down');
    const root = await bot.slack.waitFor('chat.postMessage', (c) => String(c.body.text).includes('checkout'));
    expectInert(messageOf(root));
    // (A typed <@U123> is a mention its author meant, and stays one.)
    await bot.client.command('incident note <!channel> & ``` done');
    const replies = await bot.slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === tsOf(root) && String(c.body.text).includes('done'), 5_000);
    expectInert(messageOf(replies));
  });
});
