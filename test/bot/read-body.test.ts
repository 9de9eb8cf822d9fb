/**
 * The bounded body reader on a real HTTP server: a body over the limit is refused before it is
 * read (announced) or as soon as it passes the limit (chunked), the connection can still carry
 * the 413, and what was buffered never exceeds the limit and a chunk.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyTooLargeError, readBoundedBody } from '../../src/bot/read-body.js';

const LIMIT = 64 * 1024;

describe('readBoundedBody', () => {
  let server: Server;
  let url: string;
  /** For each request, when it was answered: bytes taken off the socket, and whether the body stream was read at all. */
  const consumed: { bytesRead: number; didRead: boolean }[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const taken = () => ({ bytesRead: req.socket.bytesRead, didRead: req.readableDidRead });
      readBoundedBody(req, LIMIT).then(
        (body) => {
          consumed.push(taken());
          res.writeHead(200).end(`read ${body.length}`);
        },
        (error: unknown) => {
          consumed.push(taken());
          res.writeHead(error instanceof BodyTooLargeError ? 413 : 400, { connection: 'close' }).end(String((error as Error).message));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const post = async (body: Buffer, chunked: boolean) => {
    const response = await fetch(url, {
      method: 'POST',
      body: chunked ? new ReadableStream({ pull: (c) => { c.enqueue(body); c.close(); } }) : body,
      duplex: 'half',
    } as RequestInit);
    return { status: response.status, text: await response.text() };
  };

  it('reads a body within the limit', async () => {
    expect(await post(Buffer.alloc(LIMIT, 'a'), false)).toEqual({ status: 200, text: `read ${LIMIT}` });
    expect(await post(Buffer.from('{"ok":true}'), true)).toEqual({ status: 200, text: 'read 11' });
  });

  it('refuses a 5 MB body announced by Content-Length without reading it', async () => {
    const before = consumed.length;
    const answer = await post(Buffer.alloc(5 * 1024 * 1024, 'a'), false);
    expect(answer).toEqual({ status: 413, text: `the request body is larger than ${LIMIT} bytes` });
    expect(consumed[before]?.didRead).toBe(false);
    expect(consumed[before]?.bytesRead).toBeLessThan(1024 * 1024);
  });

  it('stops a chunked 5 MB body as soon as it passes the limit', async () => {
    const before = consumed.length;
    const answer = await post(Buffer.alloc(5 * 1024 * 1024, 'a'), true);
    expect(answer.status).toBe(413);
    // The limit plus what the socket had buffered: nowhere near the 5 MB sent.
    expect(consumed[before]?.didRead).toBe(true);
    expect(consumed[before]?.bytesRead).toBeGreaterThan(LIMIT);
    expect(consumed[before]?.bytesRead).toBeLessThan(1024 * 1024);
  });
});
