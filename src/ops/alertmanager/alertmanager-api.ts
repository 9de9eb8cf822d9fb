/**
 * Alertmanager's v2 API, as far as the bot uses it: silences (create, expire) and the alerts it
 * holds. Every call is bounded in time; failures are the operator's sentence (failure.ts).
 *
 *   const id = await createSilence(url, { matchers, startsAt, endsAt, createdBy: 'alice (U1)', comment });
 *   await expireSilence(url, id); // 'expired' | 'not-found'
 *   const alerts = await listAlertmanagerAlerts(url);
 *   const silence = await readSilence(url, id); // null when Alertmanager does not know it
 *   const since = await alertmanagerStartedAt(url); // when the answering process started
 */
import { z } from 'zod';
import { failure, networkProblem } from '../failure.js';

const TIMEOUT_MS = 5_000;

export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: false;
  isEqual: true;
}

export interface NewSilence {
  matchers: SilenceMatcher[];
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
  comment: string;
}

export interface AlertmanagerAlert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  generatorURL: string;
  /** active, or suppressed (silenced or inhibited); unprocessed ones are not shown. */
  state: 'active' | 'suppressed' | 'unprocessed';
  silencedBy: string[];
  inhibitedBy: string[];
}

/** A silence as Alertmanager holds it, whoever made it (the bot, the UI, amtool). */
export interface AlertmanagerSilence {
  id: string;
  state: 'active' | 'pending' | 'expired';
  createdBy: string;
  comment: string;
  endsAt: string;
}

const silenceCreated = z.object({ silenceID: z.string().min(1) });
const status = z.object({ uptime: z.iso.datetime({ offset: true }) });
const silenceRead = z.object({
  id: z.string(),
  status: z.object({ state: z.enum(['active', 'pending', 'expired']) }),
  createdBy: z.string().default(''),
  comment: z.string().default(''),
  endsAt: z.iso.datetime({ offset: true }),
});
const alertList = z.array(
  z.object({
    fingerprint: z.string(),
    labels: z.record(z.string(), z.string()),
    annotations: z.record(z.string(), z.string()).default({}),
    startsAt: z.string(),
    generatorURL: z.string().default(''),
    status: z.object({
      state: z.enum(['active', 'suppressed', 'unprocessed']),
      silencedBy: z.array(z.string()).nullable().default([]),
      inhibitedBy: z.array(z.string()).nullable().default([]),
    }),
  }),
);

// Alertmanager's silence ids are UUIDs: checked before one is put into a URL path.
const SILENCE_ID = /^[0-9a-fA-F-]{1,64}$/;

/** `base` may carry a path prefix (http://am:9093/alertmanager); the API path is appended to it. */
function apiUrl(base: string, path: string): URL {
  return new URL(path, base.endsWith('/') ? base : `${base}/`);
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  let response: Response;
  try {
    response = await fetch(apiUrl(base, path), {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') throw failure(`Alertmanager did not answer within ${TIMEOUT_MS / 1000}s`, error);
    throw failure(`Alertmanager could not be reached (${networkProblem(error) ?? 'network error'})`, error);
  }
  return { status: response.status, text: await response.text() };
}

function refused(what: string, answer: { status: number; text: string }): Error {
  const reason = answer.text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return failure(`Alertmanager refused to ${what} (HTTP ${answer.status}${reason ? `: ${reason}` : ''})`);
}

function json(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Creates the silence; returns its id. */
export async function createSilence(base: string, silence: NewSilence): Promise<string> {
  const answer = await call(base, 'POST', 'api/v2/silences', {
    matchers: silence.matchers,
    startsAt: silence.startsAt.toISOString(),
    endsAt: silence.endsAt.toISOString(),
    createdBy: silence.createdBy,
    comment: silence.comment,
  });
  if (answer.status !== 200) throw refused('create the silence', answer);
  const created = silenceCreated.safeParse(json(answer.text));
  if (!created.success) throw failure('Alertmanager answered the silence with something that is not a silence id');
  return created.data.silenceID;
}

/** Expires the silence now; 'not-found' when Alertmanager does not know it (any more). */
export async function expireSilence(base: string, id: string): Promise<'expired' | 'not-found'> {
  if (!SILENCE_ID.test(id)) throw failure(`"${id.slice(0, 40)}" is not an Alertmanager silence id`);
  const answer = await call(base, 'DELETE', `api/v2/silence/${encodeURIComponent(id)}`);
  if (answer.status === 200) return 'expired';
  // 0.25 answers an unknown id with 500 "silence not found" (404 in later versions).
  if (/silence not found/i.test(answer.text) || answer.status === 404) return 'not-found';
  throw refused('expire the silence', answer);
}

/** The alerts Alertmanager holds now: firing ones, silenced or inhibited ones marked suppressed. */
export async function listAlertmanagerAlerts(base: string): Promise<AlertmanagerAlert[]> {
  const answer = await call(base, 'GET', 'api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=false');
  if (answer.status !== 200) throw refused('list its alerts', answer);
  const parsed = alertList.safeParse(json(answer.text));
  if (!parsed.success) throw failure('Alertmanager answered the alert list with something the bot does not understand');
  return parsed.data.map((a) => ({
    fingerprint: a.fingerprint,
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.startsAt,
    generatorURL: a.generatorURL,
    state: a.status.state,
    silencedBy: a.status.silencedBy ?? [],
    inhibitedBy: a.status.inhibitedBy ?? [],
  }));
}

/**
 * The silence, or null when Alertmanager does not know it (any more): after it lost its state (a
 * restart without a data volume) nothing it lists can be trusted as resolved.
 */
export async function readSilence(base: string, id: string): Promise<AlertmanagerSilence | null> {
  if (!SILENCE_ID.test(id)) return null;
  const answer = await call(base, 'GET', `api/v2/silence/${encodeURIComponent(id)}`);
  if (/silence not found/i.test(answer.text) || answer.status === 404) return null;
  if (answer.status !== 200) throw refused('read the silence', answer);
  const parsed = silenceRead.safeParse(json(answer.text));
  if (!parsed.success) throw failure('Alertmanager answered the silence with something the bot does not understand');
  const { id: silenceId, status, createdBy, comment, endsAt } = parsed.data;
  return { id: silenceId, state: status.state, createdBy, comment, endsAt: new Date(endsAt).toISOString() };
}

/**
 * When the Alertmanager process that answers started (its status's `uptime`). It keeps silences
 * across restarts but not alerts, which Prometheus sends again within its resend delay: until
 * then it lists nothing it had before.
 */
export async function alertmanagerStartedAt(base: string): Promise<Date> {
  const answer = await call(base, 'GET', 'api/v2/status');
  if (answer.status !== 200) throw refused('tell its status', answer);
  const parsed = status.safeParse(json(answer.text));
  if (!parsed.success) throw failure('Alertmanager answered its status with something the bot does not understand');
  return new Date(parsed.data.uptime);
}
