/**
 * Request bodies read with a limit, before anything else looks at them: Bolt buffers a body whole
 * before it checks the signature, so an unauthenticated 300 MB POST used to cost 300 MB and more.
 * A declared Content-Length over the limit is refused before a byte is read; a body that grows
 * past it (chunked, or lying about its length) is refused as soon as it does.
 *
 *   const body = await readBoundedBody(req, 1024 * 1024); // throws BodyTooLargeError
 *   server = createServer(refuseLargeBodies(listener, MAX_BODY_BYTES));
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

/** Slack's payloads are a few kilobytes (a block action carries its message: tens of kilobytes). */
export const MAX_BODY_BYTES = 1024 * 1024;

const LINGER_MS = 1_000;

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(readonly limitBytes: number) {
    super(`the request body is larger than ${limitBytes} bytes`);
  }
}

/** What a request read here carries afterwards, where Bolt (and later readers) look for it. */
type BufferedRequest = IncomingMessage & { rawBody?: Buffer };

export async function readBoundedBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const already = (req as BufferedRequest).rawBody;
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
  (req as BufferedRequest).rawBody = body;
  return body;
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
): RequestListener {
  return (req, res) => {
    readBoundedBody(req, limitBytes).then(
      () => {
        try {
          listener(req, res);
        } catch (error) {
          onError(error, req, res);
        }
      },
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
