import { expect, it } from 'vitest';
import { formatBytes } from '../src/format.js';

it('names binary sizes as binary units (1 KiB = 1024 B)', () => {
  expect(formatBytes(512)).toBe('512 B');
  expect(formatBytes(1536)).toBe('1.5 KiB');
  expect(formatBytes(1024 ** 2)).toBe('1.0 MiB');
  expect(formatBytes(500 * 1024 ** 2)).toBe('500 MiB');
  expect(formatBytes(2.5 * 1024 ** 3)).toBe('2.5 GiB');
});
