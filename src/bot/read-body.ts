/**
 * Request bodies read with a limit, before anything else looks at them: Bolt buffers a body whole
 * before it checks the signature, so an unauthenticated 300 MB POST used to cost 300 MB and more.
 * A declared Content-Length over the limit is refused before a byte is read; a body that grows
 * past it (chunked, or lying about its length) is refused as soon as it does, so a 5 MB post never
 * costs more than the limit and one chunk.
 *
 *   const body = await readBoundedBody(req, 1024 * 1024); // throws BodyTooLargeError → answer 413
 *   server = createServer(refuseLargeBodies(listener, MAX_BODY_BYTES, onError, { readsOwnBody: ['/alerts'] }));
 */
import type { IncomingHttpHeaders, IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/** Slack's payloads are a few kilobytes (a block action carries its message: tens of kilobytes). */
export const MAX_BODY_BYTES = 1024 * 1024;

const LINGER_MS = 1_000;

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  readonly status = 413;
  constructor(readonly limitBytes: number) {
    super(`the request body is larger than ${limitBytes} bytes`);
  }
}

/** What is needed of an IncomingMessage: its headers and its body as a stream (or as read already, here). */
export type BodySource = Readable & { headers: IncomingHttpHeaders; rawBody?: Buffer };

/**
 * The body, at most `limitBytes` of it, else BodyTooLargeError without reading further (the stream
 * is paused, not destroyed, so the caller can still answer 413 on the same connection; answer with
 * `Connection: close`). A body read already by `refuseLargeBodies` is returned as it was kept.
 */
export async function readBoundedBody(req: BodySource, limitBytes: number): Promise<Buffer> {
  const already = req.rawBody;
  if (Buffer.isBuffer(already)) {
    if (already.length > limitBytes) throw new BodyTooLargeError(limitBytes);
    return already;
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) throw new BodyTooLargeError(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  // Events rather than for-await: leaving a for-await loop destroys the socket, and with it the 413.
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (error) reject(error);
      else resolve();
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += bytes.length;
      if (size > limitBytes) {
        req.pause();
        chunks.length = 0;
        done(new BodyTooLargeError(limitBytes));
        return;
      }
      chunks.push(bytes);
    };
    const onEnd = (): void => done();
    const onError = (error: Error): void => done(error);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
  const body = Buffer.concat(chunks, size);
  req.rawBody = body;
  return body;
}

export interface RefuseLargeBodiesOptions {
  /**
   * Paths whose route reads its own body with readBoundedBody, after checks that must come before
   * a byte is read (POST /alerts checks its bearer token first, and answers its own 413).
   */
  readsOwnBody?: readonly string[];
}

/**
 * Wraps a server's listener: every request's body is read (bounded) before the listener runs, and
 * kept as `req.rawBody`, which Bolt's receiver and readBoundedBody then use instead of the stream.
 * Too large: 413, and the connection is closed rather than read to its end.
 */
export function refuseLargeBodies(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  limitBytes: number,
  onError: (error: unknown, req: IncomingMessage, res: ServerResponse) => void,
  options: RefuseLargeBodiesOptions = {},
): RequestListener {
  const own = new Set(options.readsOwnBody ?? []);
  const run = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      listener(req, res);
    } catch (error) {
      onError(error, req, res);
    }
  };
  return (req, res) => {
    if (own.has((req.url ?? '/').split('?')[0] ?? '/')) {
      run(req, res);
      return;
    }
    readBoundedBody(req, limitBytes).then(
      () => run(req, res),
      (error: unknown) => {
        if (!(error instanceof BodyTooLargeError)) {
          // The client went away mid-body: nobody is left to answer.
          res.destroy();
          return;
        }
        res.writeHead(413, { 'content-type': 'text/plain' });
        res.end(`request body too large (at most ${limitBytes} bytes)\n`);
        // Lingering close: what still arrives is dropped unread for a moment, so that the client
        // reads the 413 instead of a reset; then the connection is cut.
        req.resume();
        const cut = setTimeout(() => req.socket.destroy(), LINGER_MS);
        cut.unref();
        req.socket.once('close', () => clearTimeout(cut));
      },
    );
  };
}
