// A fake Slack Web API: a real HTTP server on 127.0.0.1 that the real @slack/web-api client (and Bolt's
// respond()) talk to over the wire, so tests exercise the real serialisation instead of in-process mocks.
// It also plays Slack's Socket Mode side: apps.connections.open hands out a ws:// URL on the same server.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface SlackCall {
  method: string;
  body: Record<string, unknown>;
  token: string | undefined;
  at: number;
  /** What the fake answered (e.g. the `ts` of a posted message). */
  response: Record<string, unknown>;
}

export interface ResponseUrlPost {
  id: string;
  body: Record<string, unknown>;
  at: number;
}

/** A file body POSTed to an upload_url handed out by files.getUploadURLExternal. */
export interface FileUpload {
  fileId: string;
  contentType: string | undefined;
  body: Buffer;
  at: number;
}

/** A message Slack posted for files.completeUploadExternal with a channel: the files shared there. */
export interface FileShare {
  channel: string;
  threadTs: string | undefined;
  ts: string;
  fileIds: string[];
  blocks: unknown[] | undefined;
  initialComment: string | undefined;
}

export type SocketEnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

/** What a Socket Mode client sends back for an envelope: its ack, with the optional response payload. */
export interface SocketAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

export interface FakeSlack {
  apiUrl: string;
  calls: SlackCall[];
  responsePosts: ResponseUrlPost[];
  uploads: FileUpload[];
  /** Files shared into channels (completeUploadExternal with channel_id), with the message's blocks. */
  fileShares: FileShare[];
  /** The view last published to a user's App Home (views.publish), or undefined. */
  homeView(userId: string): Record<string, unknown> | undefined;
  responseUrl(id?: string): string;
  callsTo(method: string): SlackCall[];
  waitFor(method: string, predicate?: (c: SlackCall) => boolean, timeoutMs?: number): Promise<SlackCall>;
  waitForResponsePost(predicate?: (p: ResponseUrlPost) => boolean, timeoutMs?: number): Promise<ResponseUrlPost>;
  failNext(method: string, error: string): void;
  /**
   * How long a completed file takes to be processed, as Slack processes uploads after
   * completeUploadExternal answers: until then files.info shows no mimetype and an image block may not name it.
   */
  setFileProcessingMs(ms: number): void;
  /** Image blocks may not name files shared in this channel (as for a channel the blocks' viewers cannot see); undefined: any. */
  hideFilesOf(channel: string | undefined): void;
  /**
   * Sends an envelope to the connected Socket Mode client (the most recent one) and resolves with its
   * ack; rejects when no client is connected or no ack arrives within timeoutMs.
   */
  sendSocketEnvelope(type: SocketEnvelopeType, payload: Record<string, unknown>, timeoutMs?: number): Promise<SocketAck>;
  /** Socket Mode connections currently open. */
  socketClients(): number;
  /** Resolves once no Socket Mode connection is open (at once if none is). */
  waitForSocketClientsGone(timeoutMs?: number): Promise<void>;
  /** A message people wrote in a channel, for conversations.history (reactions and shortcuts read it). */
  seedMessage(message: { channel: string; ts: string; user: string; text: string }): void;
  reset(): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The web-api client flattens nested arguments (blocks, attachments, metadata…) into JSON strings. */
function maybeJson(value: string): unknown {
  const t = value.trimStart();
  if (!t.startsWith('{') && !t.startsWith('[')) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function decodeBody(contentType: string | undefined, raw: Buffer): Json {
  const text = raw.toString('utf8');
  if (text.length === 0) return {};
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/json') {
    const parsed: unknown = JSON.parse(text);
    return isRecord(parsed) ? parsed : { _body: parsed };
  }
  // Form-encoded is Slack's default; anything else is treated the same way as a best effort.
  const out: Json = {};
  for (const [k, v] of new URLSearchParams(text)) out[k] = maybeJson(v);
  return out;
}

/** The bytes of the file part (the one with a filename) of a multipart/form-data body; undefined for any other body. */
function multipartFile(contentType: string | undefined, raw: Buffer): Buffer | undefined {
  const boundary = /^multipart\/form-data;.*\bboundary=("?)([^";]+)\1/i.exec(contentType ?? '')?.[2];
  if (boundary === undefined) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  let start = raw.indexOf(delimiter);
  while (start >= 0) {
    const next = raw.indexOf(delimiter, start + delimiter.length);
    if (next < 0) break;
    const part = raw.subarray(start + delimiter.length + 2, next - 2); // after the CRLF, before the CRLF of the next delimiter
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd >= 0 && /filename=/i.test(part.subarray(0, headerEnd).toString('utf8'))) return part.subarray(headerEnd + 4);
    start = next;
  }
  return undefined;
}

/** A completed file: processed some time after completion, shared in the channels named, perhaps deleted since. */
interface StoredFile {
  id: string;
  name: string;
  title: string;
  size: number;
  processedAt: number;
  channels: string[];
  deleted: boolean;
}

/**
 * An image block names its picture by image_url or by slack_file ({ id } or { url }, one of them).
 * A slack_file id must be a file Slack has finished processing, shared in a channel (a file only the
 * bot can see is "invalid slack file" for the people who view the blocks) and not deleted.
 */
function imageBlockValid(block: unknown, usable: (id: string) => boolean): boolean {
  if (!isRecord(block) || block.type !== 'image') return true;
  const file = block.slack_file;
  if (file === undefined) return typeof block.image_url === 'string';
  if (!isRecord(file) || block.image_url !== undefined) return false;
  const hasId = typeof file.id === 'string';
  if (hasId === (typeof file.url === 'string')) return false;
  return hasId ? usable(String(file.id)) : true;
}

function str(v: unknown, fallback: string): string {
  return typeof v === 'string' && v.length > 0 ? v : fallback;
}

interface Waiter<T> {
  match: (item: T) => boolean;
  resolve: (item: T) => void;
}

/** A recorded list that wakes waiters when a matching item arrives. */
function waitIn<T>(
  items: T[],
  waiters: Set<Waiter<T>>,
  match: (item: T) => boolean,
  timeoutMs: number,
  describe: () => string,
): Promise<T> {
  const found = items.find(match);
  if (found !== undefined) return Promise.resolve(found);
  return new Promise<T>((resolve, reject) => {
    const waiter: Waiter<T> = {
      match,
      resolve: (item) => {
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve(item);
      },
    };
    const timer = setTimeout(() => {
      waiters.delete(waiter);
      reject(new Error(describe()));
    }, timeoutMs);
    waiters.add(waiter);
  });
}

function notify<T>(waiters: Set<Waiter<T>>, item: T): void {
  for (const w of [...waiters]) if (w.match(item)) w.resolve(item);
}

export async function startFakeSlack(): Promise<FakeSlack> {
  const seeded: { channel: string; ts: string; user: string; text: string }[] = [];
  const calls: SlackCall[] = [];
  const responsePosts: ResponseUrlPost[] = [];
  const uploads: FileUpload[] = [];
  const fileShares: FileShare[] = [];
  const pendingFiles = new Map<string, { filename: string; length: number; altText: string | undefined }>();
  // Files completed (shared or not), by id.
  const storedFiles = new Map<string, StoredFile>();
  let fileProcessingMs = 150;
  let hiddenChannel: string | undefined;
  const callWaiters = new Set<Waiter<SlackCall>>();
  const postWaiters = new Set<Waiter<ResponseUrlPost>>();
  const failures = new Map<string, string[]>();
  let tsCounter = 0;
  let idCounter = 0;
  let base = '';

  // Slack timestamps are "seconds.micros" strings; they only need to be unique and increasing.
  const nextTs = (): string => {
    tsCounter += 1;
    const micros = tsCounter * 100;
    return `${1_700_000_000 + Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  };
  const nextId = (prefix: string): string => `${prefix}${String(++idCounter).padStart(6, '0')}`;

  function answer(method: string, body: Json, token: string | undefined): Json {
    const queued = failures.get(method);
    const error = queued?.shift();
    if (queued !== undefined && queued.length === 0) failures.delete(method);
    if (error !== undefined) return { ok: false, error };

    const channel = str(body.channel, 'C_OPS');
    switch (method) {
      case 'apps.connections.open':
        // Slack refuses bot tokens here: only an app-level token (connections:write) opens a socket.
        if (!token?.startsWith('xapp-')) return { ok: false, error: 'not_allowed_token_type' };
        return { ok: true, url: `${base.replace(/^http/, 'ws')}/socket-mode` };
      case 'auth.test':
        return { ok: true, url: 'https://test.slack.com/', team: 'Test Team', team_id: 'T0TEST', user: 'recipedb', user_id: 'UBOT', bot_id: 'BBOT' };
      case 'chat.postMessage': {
        const ts = nextTs();
        const message: Json = { type: 'message', subtype: 'bot_message', text: body.text ?? '', user: 'UBOT', bot_id: 'BBOT', ts };
        if (body.blocks !== undefined) message.blocks = body.blocks;
        if (body.attachments !== undefined) message.attachments = body.attachments;
        if (body.thread_ts !== undefined) message.thread_ts = body.thread_ts;
        return { ok: true, channel, ts, message };
      }
      case 'chat.update':
        return {
          ok: true, channel, ts: body.ts, text: body.text ?? '',
          message: { type: 'message', text: body.text ?? '', ...(body.blocks !== undefined ? { blocks: body.blocks } : {}), ...(body.attachments !== undefined ? { attachments: body.attachments } : {}) },
        };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: nextTs() };
      case 'chat.getPermalink':
        return { ok: true, channel, permalink: `https://test.slack.com/archives/${channel}/p${str(body.message_ts, '0').replace('.', '')}` };
      case 'files.getUploadURLExternal': {
        // Step 1 of 3: Slack wants the name and the exact length of what will be uploaded.
        const length = Number(body.length);
        if (typeof body.filename !== 'string' || body.filename === '' || !Number.isInteger(length) || length <= 0) {
          return { ok: false, error: 'invalid_arguments' };
        }
        const fileId = nextId('F');
        pendingFiles.set(fileId, { filename: body.filename, length, altText: typeof body.alt_text === 'string' ? body.alt_text : undefined });
        return { ok: true, upload_url: `${base}/upload/${fileId}`, file_id: fileId };
      }
      case 'files.completeUploadExternal': {
        // Step 3 of 3: only files whose bytes arrived at their upload_url can be completed (the
        // error names are the fake's: Slack's pages do not list them).
        const files = (Array.isArray(body.files) ? body.files : []).filter(isRecord);
        if (files.length === 0) return { ok: false, error: 'invalid_arguments' };
        for (const f of files) {
          const pending = pendingFiles.get(String(f.id));
          if (pending === undefined) return { ok: false, error: 'file_not_found' };
          if (!uploads.some((u) => u.fileId === f.id)) return { ok: false, error: 'file_not_uploaded' };
        }
        const shareChannel = typeof body.channel_id === 'string' ? body.channel_id : undefined;
        const done = files.map((f) => {
          const id = String(f.id);
          const pending = pendingFiles.get(id);
          const name = pending?.filename ?? id;
          return {
            id,
            name,
            title: typeof f.title === 'string' ? f.title : name,
            // Slack answers before it has processed the file: the type is known once files.info says so.
            mimetype: '',
            size: pending?.length ?? 0,
            alt_txt: pending?.altText,
            url_private: `${base}/files-pri/${id}/${encodeURIComponent(name)}`,
            permalink: `https://test.slack.com/files/UBOT/${id}/${encodeURIComponent(name)}`,
            channels: shareChannel ? [shareChannel] : [],
          };
        });
        for (const f of done) {
          storedFiles.set(f.id, { id: f.id, name: f.name, title: f.title, size: f.size, processedAt: Date.now() + fileProcessingMs, channels: f.channels, deleted: false });
        }
        if (shareChannel !== undefined) {
          // Slack posts the share itself: one message with the blocks (or initial_comment) and the files.
          fileShares.push({
            channel: shareChannel,
            threadTs: typeof body.thread_ts === 'string' ? body.thread_ts : undefined,
            ts: nextTs(),
            fileIds: done.map((f) => f.id),
            blocks: Array.isArray(body.blocks) ? (body.blocks as unknown[]) : undefined,
            initialComment: typeof body.initial_comment === 'string' ? body.initial_comment : undefined,
          });
        }
        return { ok: true, files: done };
      }
      case 'views.publish': {
        const view = body.view;
        // A Home view: type home, at most 100 blocks, for a user.
        if (typeof body.user_id !== 'string' || !isRecord(view) || view.type !== 'home' || !Array.isArray(view.blocks) || view.blocks.length > 100) {
          return { ok: false, error: 'invalid_arguments' };
        }
        const usable = (id: string): boolean => {
          const file = storedFiles.get(id);
          return file !== undefined && !file.deleted && file.processedAt <= Date.now() && file.channels.some((c) => c !== hiddenChannel);
        };
        if (!view.blocks.every((b) => imageBlockValid(b, usable))) {
          return { ok: false, error: 'invalid_blocks', errors: ['invalid slack file [json-pointer:/view/blocks]'] };
        }
        return { ok: true, view: { id: nextId('V'), team_id: 'T0TEST', type: 'home', blocks: view.blocks, hash: `${Date.now()}.${idCounter}`, app_id: 'A0TEST', bot_id: 'BBOT' } };
      }
      case 'files.info': {
        const file = storedFiles.get(str(body.file, ''));
        if (file === undefined || file.deleted) return { ok: false, error: 'file_not_found' };
        const processed = file.processedAt <= Date.now();
        const mimetype = !processed ? '' : file.name.endsWith('.png') ? 'image/png' : 'text/plain';
        return {
          ok: true,
          file: {
            id: file.id, name: file.name, title: file.title, size: file.size, mimetype, filetype: processed ? file.name.split('.').at(-1) : '',
            channels: processed ? file.channels : [],
            shares: processed && file.channels.length > 0 ? { public: Object.fromEntries(file.channels.map((c) => [c, [{ ts: nextTs() }]])) } : {},
          },
        };
      }
      case 'files.delete': {
        // Only the bot's own files, which is all this fake has.
        const file = storedFiles.get(str(body.file, ''));
        if (file === undefined || file.deleted) return { ok: false, error: 'file_not_found' };
        file.deleted = true;
        return { ok: true };
      }
      case 'users.info': {
        const user = str(body.user, 'U_UNKNOWN');
        return { ok: true, user: { id: user, name: user.replace(/^U_?/, '').toLowerCase() || user } };
      }
      case 'conversations.info':
        return { ok: true, channel: { id: channel, name: 'ops' } };
      case 'conversations.history': {
        const latest = str(body.latest, '');
        const messages = seeded.filter((m) => m.channel === channel && (!latest || m.ts === latest)).map(({ ts, user, text }) => ({ type: 'message', ts, user, text }));
        return { ok: true, messages, has_more: false };
      }
      default:
        return { ok: true };
    }
  }

  function send(res: ServerResponse, status: number, body: Json | string): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json; charset=utf-8' });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    const raw = await readBody(req);
    const contentType = req.headers['content-type'];
    const at = Date.now();

    const api = /^\/api\/([\w.]+)$/.exec(url.pathname);
    if (api?.[1] !== undefined) {
      const method = api[1];
      const body = decodeBody(contentType, raw);
      const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const token = bearer ?? (typeof body.token === 'string' ? body.token : undefined);
      const response = answer(method, body, token);
      const call: SlackCall = { method, body, token, at, response };
      calls.push(call);
      notify(callWaiters, call);
      send(res, 200, response);
      return;
    }

    const response = /^\/response\/(.+)$/.exec(url.pathname);
    if (response?.[1] !== undefined && req.method === 'POST') {
      const post: ResponseUrlPost = { id: decodeURIComponent(response[1]), body: decodeBody(contentType, raw), at };
      responsePosts.push(post);
      notify(postWaiters, post);
      send(res, 200, 'ok');
      return;
    }

    const upload = /^\/upload\/(.+)$/.exec(url.pathname);
    if (upload?.[1] !== undefined && req.method === 'POST') {
      // Step 2 of 3: the bytes, exactly as many as step 1 announced, to a URL step 1 handed out.
      const pending = pendingFiles.get(upload[1]);
      if (pending === undefined) {
        send(res, 404, 'upload_url not found');
        return;
      }
      // @slack/web-api sends the file as a multipart/form-data part; a raw body is accepted too, as Slack does.
      const file = multipartFile(contentType, raw) ?? raw;
      if (file.length !== pending.length) {
        send(res, 400, `expected ${pending.length} bytes, received ${file.length}`);
        return;
      }
      uploads.push({ fileId: upload[1], contentType, body: file, at });
      // What files.slack.com answers to a successful upload.
      send(res, 200, `OK - ${raw.length}`);
      return;
    }

    send(res, 404, { ok: false, error: 'unknown_path' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { ok: false, error: 'fake_slack_error', detail: String(err) });
    });
  });
  const socketMode = startSocketMode();
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', base).pathname !== '/socket-mode') {
      socket.destroy();
      return;
    }
    socketMode.wss.handleUpgrade(req, socket, head, (ws) => socketMode.accept(ws));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;

  return {
    apiUrl: `${base}/api/`,
    calls,
    responsePosts,
    uploads,
    fileShares,
    homeView: (userId) => {
      const published = calls.filter((c) => c.method === 'views.publish' && c.body.user_id === userId && c.response.ok === true).at(-1);
      return published && isRecord(published.body.view) ? published.body.view : undefined;
    },
    responseUrl: (id = nextId('R')) => `${base}/response/${encodeURIComponent(id)}`,
    callsTo: (method) => calls.filter((c) => c.method === method),
    waitFor: (method, predicate = () => true, timeoutMs = 5000) =>
      waitIn(calls, callWaiters, (c) => c.method === method && predicate(c), timeoutMs, () => {
        const seen = calls.map((c) => c.method);
        return `fake Slack: no matching ${method} call within ${timeoutMs} ms; recorded calls: [${seen.join(', ') || 'none'}]`;
      }),
    waitForResponsePost: (predicate = () => true, timeoutMs = 5000) =>
      waitIn(responsePosts, postWaiters, predicate, timeoutMs, () => {
        const seen = responsePosts.map((p) => JSON.stringify(p.body).slice(0, 200));
        return `fake Slack: no matching response_url post within ${timeoutMs} ms; recorded posts: [${seen.join(', ') || 'none'}]; recorded calls: [${calls.map((c) => c.method).join(', ') || 'none'}]`;
      }),
    failNext: (method, error) => {
      const queued = failures.get(method) ?? [];
      queued.push(error);
      failures.set(method, queued);
    },
    setFileProcessingMs: (ms) => {
      fileProcessingMs = ms;
    },
    hideFilesOf: (channel) => {
      hiddenChannel = channel;
    },
    sendSocketEnvelope: (type, payload, timeoutMs) => socketMode.send(type, payload, timeoutMs),
    socketClients: () => socketMode.open.size,
    waitForSocketClientsGone: (timeoutMs) => socketMode.waitUntilEmpty(timeoutMs),
    seedMessage: (message) => {
      seeded.push(message);
    },
    reset: () => {
      // Mutate in place: tests may hold references to these arrays.
      calls.length = 0;
      responsePosts.length = 0;
      uploads.length = 0;
      fileShares.length = 0;
      failures.clear();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Upgraded sockets are no longer the HTTP server's: closeAllConnections() does not see them.
        socketMode.closeAll();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * Slack's side of a Socket Mode connection, as @slack/socket-mode expects it: a `hello` frame once
 * connected (the client's start() resolves on it), envelopes as JSON text frames, acks back as
 * `{ envelope_id, payload }`. The client pings with WebSocket ping frames, which ws answers itself.
 */
function startSocketMode() {
  const wss = new WebSocketServer({ noServer: true });
  const open = new Set<WebSocket>();
  const pendingAcks = new Map<string, (ack: SocketAck) => void>();
  const goneWaiters = new Set<() => void>();

  function accept(ws: WebSocket): void {
    open.add(ws);
    ws.on('close', () => {
      open.delete(ws);
      if (open.size === 0) for (const wake of [...goneWaiters]) wake();
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let frame: unknown;
      try {
        frame = JSON.parse(String(data));
      } catch {
        return;
      }
      if (!isRecord(frame) || typeof frame.envelope_id !== 'string') return;
      const ack: SocketAck = { envelope_id: frame.envelope_id };
      if (isRecord(frame.payload)) ack.payload = frame.payload;
      pendingAcks.get(frame.envelope_id)?.(ack);
    });
    ws.send(JSON.stringify({ type: 'hello', num_connections: open.size, debug_info: { host: 'fake' }, connection_info: { app_id: 'A0TEST' } }));
  }

  function send(type: SocketEnvelopeType, payload: Json, timeoutMs = 5000): Promise<SocketAck> {
    const ws = [...open].at(-1);
    if (ws === undefined) return Promise.reject(new Error('fake Slack: no Socket Mode client is connected'));
    const envelopeId = randomUUID();
    return new Promise<SocketAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        pendingAcks.delete(envelopeId);
        reject(new Error(`fake Slack: no ack for the ${type} envelope ${envelopeId} within ${timeoutMs} ms`));
      }, timeoutMs);
      pendingAcks.set(envelopeId, (ack) => {
        clearTimeout(timer);
        pendingAcks.delete(envelopeId);
        resolve(ack);
      });
      ws.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: true }), (error) => {
        if (!error) return;
        clearTimeout(timer);
        pendingAcks.delete(envelopeId);
        reject(error);
      });
    });
  }

  function waitUntilEmpty(timeoutMs = 5000): Promise<void> {
    if (open.size === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        clearTimeout(timer);
        goneWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        goneWaiters.delete(wake);
        reject(new Error(`fake Slack: ${open.size} Socket Mode connection(s) still open after ${timeoutMs} ms`));
      }, timeoutMs);
      goneWaiters.add(wake);
    });
  }

  function closeAll(): void {
    for (const ws of open) ws.terminate();
    wss.close();
  }

  return { wss, open, accept, send, waitUntilEmpty, closeAll };
}
