/**
 * The process logger: pino, JSON lines (pretty only on a terminal), with secrets removed twice:
 * `redact` blanks fields that hold secrets by name, and every finished line passes through the
 * scrubber, which catches secrets inside free text (error messages, URLs).
 *
 *   const log = createLogger({ level: 'info', secrets: config.secrets });
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { createScrubber, REDACTED } from './redact.js';

export type { Logger };

export const REDACT_PATHS = [
  'token', '*.token', 'password', '*.password', 'signingSecret', '*.signingSecret',
  'botToken', '*.botToken', 'appToken', '*.appToken', 'authorization', '*.authorization',
  'headers.authorization', 'req.headers.authorization', '*.headers.authorization',
  'connectionString', '*.connectionString', 'databaseUrl', '*.databaseUrl', 'stateDatabaseUrl', '*.stateDatabaseUrl',
  'secrets', '*.secrets',
];

export interface LoggerOptions {
  level: string;
  secrets: readonly string[];
  /** Where lines go; default stdout. The console mode sends them to stderr. */
  destination?: NodeJS.WritableStream;
  /** Pretty-print (default: when the destination is a terminal). */
  pretty?: boolean;
  name?: string;
}

export function createLogger(options: LoggerOptions): Logger {
  const scrub = createScrubber(options.secrets);
  const target = options.destination ?? process.stdout;
  const isTty = Boolean((target as NodeJS.WriteStream).isTTY);
  const pretty = options.pretty ?? isTty;
  const sink = pretty ? prettyStream(target) : target;
  const scrubbing = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      sink.write(scrub(chunk.toString()));
      done();
    },
  });
  return pino(
    {
      level: options.level,
      name: options.name ?? 'recipedb-ops',
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      serializers: { err: pino.stdSerializers.err },
    },
    scrubbing,
  );
}

function prettyStream(target: NodeJS.WritableStream): NodeJS.WritableStream {
  return pinoPretty({ destination: target, colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss' });
}
