/**
 * `POST /alerts`: Alertmanager's webhook (payload version 4, SPEC section 10). Only with
 * ALERTS_TOKEN set (else the route does not exist: 404). The bearer token is checked before a
 * byte of the body is read, in constant time; the body is read up to a small limit; a malformed
 * one is 400 and changes nothing. Alertmanager is answered as soon as the notification is stored
 * (it retries on timeouts, and on 5xx: a failure to store is 500); the Slack work comes after.
 *
 *   const route = alertsRoute(services, (stored) => draw(stored)); // null without ALERTS_TOKEN
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CustomRoute } from '@slack/bolt';
import type { Services } from '../context.js';
import { receiveAlertNotification } from '../handlers/alert-notifications.js';
import { parseAlertNotification } from '../ops/alertmanager/webhook-payload.js';
import type { StoredNotification } from '../state/alert-groups.js';
import { BodyTooLargeError, MAX_BODY_BYTES, readBoundedBody } from './read-body.js';

export const ALERTS_PATH = '/alerts';
// A notification of 50 alerts is about 40 KiB; a receiver without max_alerts can send more, and
// the README says to set it. Larger bodies are refused before they are buffered, as on every route.
export const ALERTS_BODY_LIMIT = MAX_BODY_BYTES;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Equal-length digests, so that neither the length nor the content of the token leaks in timing. */
function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  const presented = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '')?.[1];
  if (presented === undefined) return false;
  return timingSafeEqual(digest(presented), expected);
}

function answer(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${text}\n`);
}

export function alertsRoute(services: Services, onStored: (stored: StoredNotification) => void): CustomRoute | null {
  const token = services.config.alerts.token;
  if (!token) return null;
  const expected = digest(token);
  const { log, metrics, lifecycle } = services;
  const refused = (outcome: string) => metrics.alertNotifications.inc({ outcome });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!tokenMatches(req.headers.authorization, expected)) {
      refused('unauthorized');
      log.warn({ remote: req.socket.remoteAddress }, 'refused an /alerts request without the right bearer token');
      // The body is not read: close the connection rather than drain what a stranger sends.
      answer(res, 401, 'unauthorized: Authorization: Bearer <ALERTS_TOKEN> is required', { 'www-authenticate': 'Bearer', connection: 'close' });
      return;
    }
    // A replica shutting down sends Alertmanager to the other one (it retries 5xx).
    if (lifecycle.draining) {
      answer(res, 503, 'shutting down: retry', { connection: 'close' });
      return;
    }
    let raw: Buffer;
    try {
      raw = await readBoundedBody(req, ALERTS_BODY_LIMIT);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        refused('too_large');
        answer(res, 413, `too large: at most ${ALERTS_BODY_LIMIT} bytes (set max_alerts in the webhook receiver)`, { connection: 'close' });
      } else {
        refused('invalid');
        answer(res, 400, 'the request body could not be read', { connection: 'close' });
      }
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      refused('invalid');
      answer(res, 400, 'malformed: the body is not JSON');
      return;
    }
    const parsed = parseAlertNotification(body);
    if (!parsed.ok) {
      refused('invalid');
      log.warn({ problem: parsed.problem }, 'refused a malformed Alertmanager notification');
      answer(res, 400, `malformed: not an Alertmanager webhook (version 4) payload: ${parsed.problem}`);
      return;
    }
    let stored: StoredNotification;
    try {
      stored = await receiveAlertNotification(services, parsed.notification);
    } catch (error) {
      refused('failed');
      log.error({ err: error, groupKey: parsed.notification.groupKey }, 'could not store an Alertmanager notification');
      answer(res, 500, 'the notification could not be stored; retry');
      return;
    }
    log.info({ groupKey: stored.group.groupKey, change: stored.change.kind, alerts: parsed.notification.alerts.length }, 'Alertmanager notification received');
    answer(res, 200, 'ok');
    onStored(stored);
  }

  return {
    path: ALERTS_PATH,
    method: ['POST'],
    handler: (req, res) => {
      void lifecycle.track(handle(req, res)).catch((error: unknown) => {
        log.error({ err: error }, 'the /alerts request failed');
        answer(res, 500, 'internal error');
      });
    },
  };
}
