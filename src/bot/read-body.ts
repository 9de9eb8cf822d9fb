/**
 * Reads a request body into memory only up to a limit: a body announced larger than the limit is
 * refused before a byte is read, and one that turns out larger (chunked, or a lying
 * Content-Length) is refused as soon as it passes the limit, so a 5 MB post never costs more than
 * the limit and one chunk.
 *
 *   const body = await readBoundedBody(req, 1024 * 1024); // throws BodyTooLargeError → answer 413
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  readonly status = 413;
  constructor(readonly limitBytes: number) {
    super(`the request body is larger than ${limitBytes} bytes`);
  }
}

/** What is needed of an IncomingMessage: its headers and its body as a stream. */
export type BodySource = Readable & { headers: IncomingHttpHeaders };

/**
 * Rejects with BodyTooLargeError without reading further (the stream is paused, not destroyed, so
 * the caller can still answer 413 on the same connection; answer with `Connection: close`).
 */
export function readBoundedBody(req: BodySource, limitBytes: number): Promise<Buffer> {
  const announced = Number(req.headers['content-length']);
  if (Number.isFinite(announced) && announced > limitBytes) return Promise.reject(new BodyTooLargeError(limitBytes));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > limitBytes) {
        stop();
        req.pause();
        chunks.length = 0;
        reject(new BodyTooLargeError(limitBytes));
        return;
      }
      chunks.push(buffer);
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
