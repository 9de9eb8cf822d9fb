/**
 * An unauthenticated 300 MB POST used to raise the bot's memory from 71 MB to 1 GB before the
 * signature was checked. Now every route refuses a body over 1 MiB with 413, before reading it
 * (a declared Content-Length) or as soon as it grows past the limit (chunked), and the bot's
 * memory does not move. HTTP mode against a real bot process; Socket Mode's own routes server.
 */
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveRoutes } from '../../src/bot/http-routes.js';
import { MAX_BODY_BYTES, readBoundedBody } from '../../src/bot/read-body.js';
import { startBotProcess, type BotProcess } from '../support/bot-process.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';

const MB = 1024 * 1024;

/** VmRSS now and VmHWM (the peak over the process's life), in kB. */
async function readMemory(pid: number): Promise<{ rssKb: number; hwmKb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
}

/** Streams `totalBytes` of junk, 1 MB at a time, until the server answers (or the socket closes). */
function bigPost(url: string, totalBytes: number, options: { contentLength: boolean; method?: string }): Promise<{ status: number | null; sentBytes: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    let sent = 0;
    let status: number | null = null;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      resolve({ status, sentBytes: sent, ms: performance.now() - started });
    };
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/x-www-form-urlencoded' };
    if (options.contentLength) headers['content-length'] = String(totalBytes);
    // Node's client frames a GET's body only when asked to.
    else headers['transfer-encoding'] = 'chunked';
    const req = http.request(url, { method: options.method ?? 'POST', headers }, (res) => {
      status = res.statusCode ?? null;
      res.resume();
      res.on('end', finish);
      req.destroy();
    });
    req.on('error', finish);
    req.on('close', finish);
    const chunk = Buffer.alloc(MB, 'a');
    const write = (): void => {
      while (!settled && status === null && sent < totalBytes) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', write);
          return;
        }
      }
      if (sent >= totalBytes && !settled) req.end();
    };
    write();
  });
}

describe('HTTP mode: a real bot process', () => {
  let slack: FakeSlack;
  let bot: BotProcess;

  beforeAll(async () => {
    slack = await startFakeSlack();
    bot = await startBotProcess({
      slack,
      env: { DATABASE_URL: await createDemoTestDatabase(), STATE_DATABASE_URL: await createTestDatabase('state'), LOG_LEVEL: 'info' },
    });
  }, 60_000);
  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
  });

  it.each([
    ['with a Content-Length', true],
    ['chunked, without a Content-Length', false],
  ])('refuses a 300 MB POST to /slack/events %s, and its memory does not jump', async (_name, contentLength) => {
    const before = await readMemory(bot.pid);
    const answer = await bigPost(`${bot.baseUrl}/slack/events`, 300 * MB, { contentLength });
    const after = await readMemory(bot.pid);
    expect(answer.status).toBe(413);
    // Refused at once, not after the body arrived.
    expect(answer.sentBytes).toBeLessThan(100 * MB);
    // VmHWM is the peak over the process's life: the upload never passed through its memory.
    expect(after.hwmKb - Math.max(before.hwmKb, before.rssKb)).toBeLessThan(64 * 1024);

    // Still serving, and real commands still work.
    expect((await fetch(`${bot.baseUrl}/healthz`)).status).toBe(200);
    slack.reset();
    await bot.client.command('help');
    await slack.waitFor('chat.postMessage', undefined, 10_000);
  }, 60_000);

  it('refuses a large body on the other routes too', async () => {
    const answer = await bigPost(`${bot.baseUrl}/healthz`, 20 * MB, { contentLength: false, method: 'GET' });
    expect(answer.status).toBe(413);
    const metrics = await bigPost(`${bot.baseUrl}/metrics`, 20 * MB, { contentLength: true, method: 'GET' });
    expect(metrics.status).toBe(413);
  });

  it('takes a body just under the limit (and checks its signature as before)', async () => {
    const body = `token=x&text=${'a'.repeat(MAX_BODY_BYTES - 100)}`;
    const res = await fetch(`${bot.baseUrl}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    // Unsigned: the signature check is what refuses it now, not the size.
    expect(res.status).toBe(401);
  });
});

describe("Socket Mode: the bot's own routes server", () => {
  let server: { port: number; close(): Promise<void> };
  let url: string;

  beforeAll(async () => {
    server = await serveRoutes(
      [
        {
          path: '/echo',
          method: ['POST'],
          // A route that reads its body (as POST /alerts does) gets the bytes read already.
          handler: (req, res) => {
            void readBoundedBody(req, MAX_BODY_BYTES).then((body) => {
              res.writeHead(200);
              res.end(String(body.length));
            });
          },
        },
        { path: '/healthz', method: ['GET'], handler: (_req, res) => res.end('ok') },
      ],
      0,
    );
    url = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server.close();
  });

  it('refuses large bodies with 413, chunked or declared, on every route', async () => {
    expect((await bigPost(`${url}/echo`, 300 * MB, { contentLength: true })).status).toBe(413);
    expect((await bigPost(`${url}/echo`, 300 * MB, { contentLength: false })).status).toBe(413);
    expect((await bigPost(`${url}/healthz`, 20 * MB, { contentLength: false, method: 'GET' })).status).toBe(413);
  });

  it('hands a route the whole body when it is within the limit', async () => {
    const res = await fetch(`${url}/echo`, { method: 'POST', body: 'x'.repeat(1000) });
    expect(await res.text()).toBe('1000');
  });
});

