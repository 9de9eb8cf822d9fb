import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inFlightCheck } from '../../../src/ops/backup/in-flight-check.js';

const DUMP = `-- PostgreSQL database dump\nSELECT 1;\n${'INSERT INTO t VALUES (1);\n'.repeat(20_000)}-- PostgreSQL database dump complete\n`;

async function run(compressed: Buffer): Promise<{ passed: number; result: Promise<{ dumpBytes: number }> }> {
  const check = inFlightCheck('recipe-database-backup-2026-01-15_10-30-00.sql.gz');
  let passed = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      passed += chunk.length;
      done();
    },
  });
  // Small chunks, as gzip hands them over while pg_dump runs.
  const chunks = Array.from({ length: Math.ceil(compressed.length / 4096) }, (_, i) => compressed.subarray(i * 4096, (i + 1) * 4096));
  await pipeline(Readable.from(chunks), check.tap, sink).catch(() => undefined);
  return { passed, result: check.result() };
}

describe('the in-flight check of a backup stream', () => {
  it('passes every byte on and counts the whole dump', async () => {
    const compressed = gzipSync(DUMP);
    const { passed, result } = await run(compressed);
    expect(passed).toBe(compressed.length);
    expect((await result).dumpBytes).toBe(Buffer.byteLength(DUMP));
  });

  it('fails a stream that is cut off', async () => {
    const compressed = gzipSync(DUMP);
    const { result } = await run(compressed.subarray(0, compressed.length - 200));
    await expect(result).rejects.toThrow(/truncated|corrupt|incomplete/);
  });

  it('fails valid gzip of a dump that pg_dump did not finish', async () => {
    const { result } = await run(gzipSync(DUMP.replace('-- PostgreSQL database dump complete\n', '')));
    await expect(result).rejects.toThrow(/incomplete: the dump inside stops before pg_dump's completion line/);
  });

  it('fails damaged bytes in the middle', async () => {
    const compressed = Buffer.from(gzipSync(DUMP));
    compressed.fill(0x55, 200, 260);
    const { result } = await run(compressed);
    await expect(result).rejects.toThrow();
  });
});
