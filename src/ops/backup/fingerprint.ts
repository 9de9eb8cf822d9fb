/**
 * The fingerprint of a backup file's exact bytes: the SHA-256 of the whole file and of each 1 MiB
 * chunk of it. Recorded when the bot writes (or imports) a file, it lets a restore check every
 * chunk as it reads it, before psql sees any of it: a file changed after it was approved is
 * stopped at its first changed chunk, not discovered after psql ran it.
 *
 *   const hasher = new FingerprintHasher();
 *   hasher.update(chunk); … const fingerprint = hasher.digest(); // { sha256, sizeBytes, chunkBytes, chunkSha256 }
 *   const check = verifyingStream(fingerprint, name); // a Transform that fails on the first byte that differs
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BackupIntegrityError } from './integrity-error.js';

export const FINGERPRINT_CHUNK_BYTES = 1 << 20;
const DIGEST_BYTES = 32;

export interface Fingerprint {
  sha256: string;
  sizeBytes: number;
  chunkBytes: number;
  /** The SHA-256 of each chunk, concatenated (32 bytes per chunk; the last chunk may be short). */
  chunkSha256: Buffer;
}

export class FingerprintHasher {
  private readonly whole = createHash('sha256');
  private chunk: Hash = createHash('sha256');
  private inChunk = 0;
  private readonly digests: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly chunkBytes = FINGERPRINT_CHUNK_BYTES) {}

  update(data: Buffer): void {
    this.whole.update(data);
    this.bytes += data.length;
    let offset = 0;
    while (offset < data.length) {
      const take = Math.min(this.chunkBytes - this.inChunk, data.length - offset);
      this.chunk.update(data.subarray(offset, offset + take));
      this.inChunk += take;
      offset += take;
      if (this.inChunk === this.chunkBytes) this.closeChunk();
    }
  }

  digest(): Fingerprint {
    if (this.inChunk > 0) this.closeChunk();
    return { sha256: this.whole.digest('hex'), sizeBytes: this.bytes, chunkBytes: this.chunkBytes, chunkSha256: Buffer.concat(this.digests) };
  }

  private closeChunk(): void {
    this.digests.push(this.chunk.digest());
    this.chunk = createHash('sha256');
    this.inChunk = 0;
  }
}

/**
 * Passes the file's bytes on only once their chunk is proven to be the recorded one: a whole
 * chunk is held (1 MiB at most), hashed, compared, then released. At the end the whole file's
 * hash and size must match as well. Any difference fails the stream before the bytes move on.
 */
export function verifyingStream(expected: Fingerprint, name: string): Transform {
  const whole = createHash('sha256');
  let held: Buffer[] = [];
  let heldBytes = 0;
  let index = 0;
  let total = 0;
  const changed = (where: string): BackupIntegrityError =>
    new BackupIntegrityError(`${name} is not the file that was approved: its bytes differ from those recorded ${where}`);

  const release = (stream: Transform): BackupIntegrityError | undefined => {
    const chunk = Buffer.concat(held, heldBytes);
    held = [];
    heldBytes = 0;
    const want = expected.chunkSha256.subarray(index * DIGEST_BYTES, (index + 1) * DIGEST_BYTES);
    const got = createHash('sha256').update(chunk).digest();
    if (want.length !== DIGEST_BYTES || !got.equals(want)) return changed(`at byte ${index * expected.chunkBytes}`);
    index += 1;
    stream.push(chunk);
    return undefined;
  };

  return new Transform({
    transform(data: Buffer, _encoding, done: TransformCallback) {
      whole.update(data);
      total += data.length;
      if (total > expected.sizeBytes) {
        done(changed(`(it is longer than the ${expected.sizeBytes} bytes approved)`));
        return;
      }
      let offset = 0;
      while (offset < data.length) {
        const take = Math.min(expected.chunkBytes - heldBytes, data.length - offset);
        held.push(data.subarray(offset, offset + take));
        heldBytes += take;
        offset += take;
        if (heldBytes === expected.chunkBytes) {
          const problem = release(this);
          if (problem) {
            done(problem);
            return;
          }
        }
      }
      done();
    },
    flush(done: TransformCallback) {
      if (heldBytes > 0) {
        const problem = release(this);
        if (problem) {
          done(problem);
          return;
        }
      }
      if (total !== expected.sizeBytes || whole.digest('hex') !== expected.sha256) {
        done(changed(`(it has ${total} of the ${expected.sizeBytes} bytes approved, or another checksum)`));
        return;
      }
      done();
    },
  });
}
