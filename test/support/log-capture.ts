/** A writable that keeps everything a logger wrote, so tests can grep the log for secrets. */
import { Writable } from 'node:stream';

export interface LogCapture {
  stream: Writable;
  text(): string;
  lines(): Record<string, unknown>[];
}

export function captureLog(): LogCapture {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
