import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import type { Message } from '../../src/bot/blocks.js';
import { readAudit } from '../../src/state/audit-log.js';
import { startTestBot, TEST_BOT_TOKEN, TEST_SIGNING_SECRET, type TestBot } from '../support/bot.js';
import { signSlackRequest, type SentRequest } from '../support/slack-client.js';
import type { SlackCall } from '../support/fake-slack.js';

function textOf(call: SlackCall | { body: Record<string, unknown> }): string {
  return renderBlocks({ text: String(call.body.text ?? ''), blocks: (call.body.blocks ?? []) as Message['blocks'] }).text;
}

function ackText(sent: SentRequest): string {
  const json = sent.json as { text?: string; blocks?: Message['blocks'] } | undefined;
  return json ? renderBlocks({ text: json.text ?? '', blocks: json.blocks ?? [] }).text : sent.body;
}

describe('the Slack app over HTTP', () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({ env: { ALLOWED_CHANNELS: 'C_OPS,C_DBA' } });
  });
  afterAll(async () => {
    await bot.stop();
  });

  it('answers help with every command', async () => {
    bot.slack.reset();
    const sent = await bot.client.command('help');
    expect(sent.status).toBe(200);
    const posted = await bot.slack.waitFor('chat.postMessage');
    expect(posted.body.channel).toBe('C_OPS');
    expect(posted.token).toBe(TEST_BOT_TOKEN);
    const text = textOf(posted);
    for (const command of ['/recipedb help', '/recipedb status']) expect(text).toContain(command);
  });

  it('answers status from the real database', async () => {
    bot.slack.reset();
    await bot.client.command('status', { userId: 'U_CAROL' });
    const text = textOf(await bot.slack.waitFor('chat.postMessage'));
    expect(text).toMatch(/🟢 OK|⚠️ WARN/);
    expect(text).toContain('PostgreSQL: up · PostgreSQL 15');
    expect(text).toMatch(/Connections: \d+ \/ 200/);
    expect(text).toMatch(/Database size: [\d.]+ MiB \(demo_/);
    expect(text).toContain('Measured at');
    const audit = await readAudit(bot.services.state, 5);
    expect(audit.at(-2)).toMatchObject({ actor: 'U_CAROL', channel: 'C_OPS', kind: 'command', action: 'status', summary: '/recipedb status' });
    // What it answered, in one line (SPEC section 7: every result enters the incident thread).
    expect(audit.at(-1)).toMatchObject({ actor: 'U_CAROL', kind: 'command.result', action: 'status', summary: expect.stringMatching(/^status: (OK|WARN), connections \d+\/200/) });
  });

  it('answers an unknown command with usage in the ack, and nothing in the channel', async () => {
    bot.slack.reset();
    const sent = await bot.client.command('frobnicate now');
    expect(sent.status).toBe(200);
    expect(ackText(sent)).toContain('Unknown command `frobnicate`');
    expect((sent.json as { response_type?: string }).response_type).toBe('ephemeral');
    await new Promise((r) => setTimeout(r, 200));
    expect(bot.slack.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('answers bad arguments with the usage, only to the user', async () => {
    bot.slack.reset();
    await bot.client.command('status --verbose', { responseUrlId: 'bad-args' });
    const post = await bot.slack.waitForResponsePost((p) => p.id === 'bad-args');
    expect(post.body.response_type).toBe('ephemeral');
    expect(textOf(post)).toContain('`status` takes no options');
    expect(textOf(post)).toContain('Usage: `/recipedb status`');
    expect(bot.slack.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('refuses other channels and says where it can be used', async () => {
    bot.slack.reset();
    const sent = await bot.client.command('status', { channelId: 'C_RANDOM' });
    expect(ackText(sent)).toContain('recipedb-ops only answers in #C_OPS, #C_DBA');
    await new Promise((r) => setTimeout(r, 200));
    expect(bot.slack.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('rejects unsigned, wrongly signed and stale requests and does nothing', async () => {
    bot.slack.reset();
    const before = (await readAudit(bot.services.state, 1000)).length;
    const body = new URLSearchParams({ command: '/recipedb', text: 'status', user_id: 'U_EVE', channel_id: 'C_OPS', team_id: 'T1', response_url: bot.slack.responseUrl('evil') }).toString();
    const form = 'application/x-www-form-urlencoded';
    const now = Math.floor(Date.now() / 1000);
    const unsigned = await bot.client.raw(body, { 'Content-Type': form });
    const wrong = await bot.client.raw(body, { 'Content-Type': form, 'X-Slack-Request-Timestamp': String(now), 'X-Slack-Signature': signSlackRequest('not-the-secret', now, body) });
    const staleTs = now - 6 * 60;
    const stale = await bot.client.raw(body, { 'Content-Type': form, 'X-Slack-Request-Timestamp': String(staleTs), 'X-Slack-Signature': signSlackRequest(TEST_SIGNING_SECRET, staleTs, body) });
    for (const sent of [unsigned, wrong, stale]) expect(sent.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(bot.slack.calls.filter((c) => c.method !== 'auth.test')).toHaveLength(0);
    expect(bot.slack.responsePosts).toHaveLength(0);
    expect((await readAudit(bot.services.state, 1000)).length).toBe(before);
  });

  it('serves health, readiness and metrics', async () => {
    const health = await fetch(`${bot.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${bot.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${bot.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/recipedb_ops_commands_total\{command="status",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/recipedb_ops_commands_total\{command="unknown",outcome="usage"\} [1-9]/);
    expect(metrics).toMatch(/recipedb_ops_ack_latency_seconds_count\{kind="command"\} [1-9]/);
    expect(metrics).toContain('recipedb_ops_process_resident_memory_bytes');
  });

  it('never puts its secrets in the log', () => {
    const text = bot.log.text();
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain(TEST_BOT_TOKEN);
    expect(text).not.toContain(TEST_SIGNING_SECRET);
  });
});
