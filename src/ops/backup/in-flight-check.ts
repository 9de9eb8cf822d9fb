/**
 * Checks the compressed stream while it is being written, instead of reading the whole file back
 * and decompressing it afterwards: every gzip chunk is also fed to a gunzip that must reach the
 * end and find pg_dump's completion line. Decompressing is several times faster than compressing
 * and runs on another thread, so the check costs the backup almost no time. (The bytes on disk
 * are then proven equal to the checked ones by their SHA-256.)
 *
 *   const check = inFlightCheck(name);
 *   await pipeline(pgDumpOut, createGzip(), check.tap, file);
 *   const { dumpBytes } = await check.result(); // BackupIntegrityError when the stream is broken
 */
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { asIntegrityError, dumpCompleteCheck } from './integrity.js';

export interface InFlightCheck {
  /** Passes the compressed bytes on unchanged, and feeds them to the check. */
  tap: Transform;
  /** Resolves once the tapped stream has ended and decompressed whole. */
  result(): Promise<{ dumpBytes: number }>;
}

export function inFlightCheck(name: string): InFlightCheck {
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  let dumpBytes = 0;
  const counting = new Writable({
    write(chunk: Buffer, _encoding, done) {
      dumpBytes += chunk.length;
      done();
    },
  });
  const checked = pipeline(gunzip, dumpCompleteCheck(name), counting);
  let failure: unknown;
  // A broken stream is reported by result() and stops the tap; it must not go unhandled meanwhile.
  checked.catch((error: unknown) => {
    failure = error;
  });
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (failure !== undefined || gunzip.destroyed) {
        done(asIntegrityError(failure ?? new Error('the check stopped'), name));
        return;
      }
      // Backpressure: the file write waits for the check, so memory stays flat.
      if (gunzip.write(chunk)) {
        done(null, chunk);
        return;
      }
      const settle = (): void => {
        gunzip.off('drain', settle);
        gunzip.off('close', settle);
        if (failure !== undefined || gunzip.destroyed) done(asIntegrityError(failure ?? new Error('the check stopped'), name));
        else done(null, chunk);
      };
      gunzip.once('drain', settle);
      gunzip.once('close', settle);
    },
    flush(done) {
      gunzip.end();
      done();
    },
  });
  return {
    tap,
    async result() {
      try {
        await checked;
      } catch (error) {
        throw asIntegrityError(error, name);
      }
      return { dumpBytes };
    },
  };
}
