// Plays Slack's side of the HTTP conversation: builds request bodies shaped like Slack's and signs them
// the way Slack does, then sends them to the bot's real HTTP endpoint with fetch.
import { createHmac, randomUUID } from 'node:crypto';
import type { FakeSlack } from './fake-slack.js';

/** `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` (Slack's request-signing scheme). */
export function signSlackRequest(signingSecret: string, timestamp: number, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export interface SlackClientOptions {
  eventsUrl: string;
  signingSecret: string;
  fakeSlack?: FakeSlack;
}

export interface SentRequest {
  status: number;
  body: string;
  json: unknown | undefined;
}

const TEAM = { id: 'T0TEST', domain: 'testteam' } as const;
const APP_ID = 'A0TEST';
// Slack still sends the deprecated verification token; Bolt ignores it, but real bodies carry it.
const VERIFICATION_TOKEN = 'verification-token';
// Bolt's body parser insists on exactly this content type (no charset).
const FORM = 'application/x-www-form-urlencoded';

/** 'U_ALICE' -> 'alice': a plausible user name for a test user id. */
function userName(userId: string): string {
  return userId.replace(/^U_?/, '').toLowerCase() || userId;
}

function channelName(channelId: string): string {
  return channelId.replace(/^[CGD]_?/, '').toLowerCase() || channelId;
}

function triggerId(): string {
  return `${Date.now()}.${Math.floor(Math.random() * 1e11)}.${randomUUID().replace(/-/g, '')}`;
}

/** An action_ts-style "seconds.micros" string for now. */
function nowTs(): string {
  const ms = Date.now();
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1000).padStart(6, '0')}`;
}

export function slackClient(opts: SlackClientOptions) {
  const responseUrl = (id?: string): string =>
    opts.fakeSlack?.responseUrl(id) ?? `https://hooks.slack.com/actions/${TEAM.id}/1/${id ?? randomUUID()}`;

  // A content type is guessed from the body so raw(body, signedHeaders(body)) works out of the box.
  function signedHeaders(rawBody: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
    return {
      'Content-Type': rawBody.trimStart().startsWith('{') ? 'application/json' : FORM,
      'X-Slack-Request-Timestamp': String(timestamp),
      'X-Slack-Signature': signSlackRequest(opts.signingSecret, timestamp, rawBody),
    };
  }

  async function raw(rawBody: string, headers: Record<string, string>): Promise<SentRequest> {
    const res = await fetch(opts.eventsUrl, { method: 'POST', headers, body: rawBody });
    const body = await res.text();
    let json: unknown;
    try {
      json = body.length > 0 ? (JSON.parse(body) as unknown) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, body, json };
  }

  const sendForm = (fields: Record<string, string>): Promise<SentRequest> => {
    const body = new URLSearchParams(fields).toString();
    return raw(body, { ...signedHeaders(body), 'Content-Type': FORM });
  };

  const sendPayload = (payload: Record<string, unknown>): Promise<SentRequest> =>
    sendForm({ payload: JSON.stringify(payload) });

  return {
    command(
      text: string,
      o: { userId?: string; channelId?: string; command?: string; responseUrlId?: string; triggerId?: string } = {},
    ): Promise<SentRequest> {
      const userId = o.userId ?? 'U_ALICE';
      const channelId = o.channelId ?? 'C_OPS';
      // Field order follows what Slack sends.
      return sendForm({
        token: VERIFICATION_TOKEN,
        team_id: TEAM.id,
        team_domain: TEAM.domain,
        channel_id: channelId,
        channel_name: channelName(channelId),
        user_id: userId,
        user_name: userName(userId),
        command: o.command ?? '/recipedb',
        text,
        api_app_id: APP_ID,
        is_enterprise_install: 'false',
        response_url: responseUrl(o.responseUrlId),
        trigger_id: o.triggerId ?? triggerId(),
      });
    },

    blockAction(o: {
      actionId: string;
      value: string;
      userId?: string;
      channelId?: string;
      messageTs: string;
      blockId?: string;
      responseUrlId?: string;
    }): Promise<SentRequest> {
      const userId = o.userId ?? 'U_ALICE';
      const channelId = o.channelId ?? 'C_OPS';
      return sendPayload({
        type: 'block_actions',
        user: { id: userId, username: userName(userId), name: userName(userId), team_id: TEAM.id },
        api_app_id: APP_ID,
        token: VERIFICATION_TOKEN,
        container: { type: 'message', message_ts: o.messageTs, channel_id: channelId, is_ephemeral: false },
        trigger_id: triggerId(),
        team: TEAM,
        enterprise: null,
        is_enterprise_install: false,
        channel: { id: channelId, name: channelName(channelId) },
        message: { type: 'message', ts: o.messageTs, text: 'message text', user: 'UBOT', bot_id: 'BBOT' },
        state: { values: {} },
        response_url: responseUrl(o.responseUrlId),
        actions: [
          {
            action_id: o.actionId,
            block_id: o.blockId ?? 'actions',
            value: o.value,
            type: 'button',
            text: { type: 'plain_text', text: o.actionId, emoji: true },
            action_ts: nowTs(),
          },
        ],
      });
    },

    /** A button clicked in the App Home tab: the payload names the view, and has no channel, message or response_url. */
    homeBlockAction(o: { actionId: string; value: string; userId?: string; viewId?: string; blocks?: unknown[]; blockId?: string }): Promise<SentRequest> {
      const userId = o.userId ?? 'U_ALICE';
      const viewId = o.viewId ?? 'V0HOME0001';
      return sendPayload({
        type: 'block_actions',
        user: { id: userId, username: userName(userId), name: userName(userId), team_id: TEAM.id },
        api_app_id: APP_ID,
        token: VERIFICATION_TOKEN,
        container: { type: 'view', view_id: viewId },
        trigger_id: triggerId(),
        team: TEAM,
        enterprise: null,
        is_enterprise_install: false,
        view: {
          id: viewId,
          team_id: TEAM.id,
          type: 'home',
          blocks: o.blocks ?? [],
          private_metadata: '',
          callback_id: '',
          state: { values: {} },
          hash: `${Math.floor(Date.now() / 1000)}.abc123`,
          clear_on_close: false,
          notify_on_close: false,
          close: null,
          submit: null,
          previous_view_id: null,
          root_view_id: viewId,
          app_id: APP_ID,
          external_id: '',
          app_installed_team_id: TEAM.id,
          bot_id: 'BBOT',
        },
        actions: [
          {
            action_id: o.actionId,
            block_id: o.blockId ?? 'actions',
            value: o.value,
            type: 'button',
            text: { type: 'plain_text', text: o.actionId, emoji: true },
            action_ts: nowTs(),
          },
        ],
      });
    },

    messageShortcut(o: {
      callbackId: string;
      userId?: string;
      channelId?: string;
      messageTs: string;
      messageText: string;
      messageUser: string;
    }): Promise<SentRequest> {
      const userId = o.userId ?? 'U_ALICE';
      const channelId = o.channelId ?? 'C_OPS';
      return sendPayload({
        type: 'message_action',
        token: VERIFICATION_TOKEN,
        action_ts: nowTs(),
        team: TEAM,
        user: { id: userId, name: userName(userId), username: userName(userId), team_id: TEAM.id },
        channel: { id: channelId, name: channelName(channelId) },
        is_enterprise_install: false,
        enterprise: null,
        callback_id: o.callbackId,
        trigger_id: triggerId(),
        response_url: responseUrl(),
        message_ts: o.messageTs,
        message: { type: 'message', user: o.messageUser, ts: o.messageTs, text: o.messageText },
      });
    },

    event(event: Record<string, unknown>, o: { retryNum?: number; eventId?: string } = {}): Promise<SentRequest> {
      const body = JSON.stringify({
        token: VERIFICATION_TOKEN,
        team_id: TEAM.id,
        api_app_id: APP_ID,
        event,
        type: 'event_callback',
        event_id: o.eventId ?? `Ev${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`,
        event_time: Math.floor(Date.now() / 1000),
        authorizations: [{ team_id: TEAM.id, user_id: 'UBOT', is_bot: true, is_enterprise_install: false }],
      });
      const headers = { ...signedHeaders(body), 'Content-Type': 'application/json' };
      if (o.retryNum !== undefined) {
        Object.assign(headers, { 'X-Slack-Retry-Num': String(o.retryNum), 'X-Slack-Retry-Reason': 'http_timeout' });
      }
      return raw(body, headers);
    },

    raw,
    signedHeaders,
  };
}
