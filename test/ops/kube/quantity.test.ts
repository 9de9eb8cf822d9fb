import { describe, expect, it } from 'vitest';
import { parseQuantity } from '../../../src/ops/kube/quantity.js';
import { labelSelector } from '../../../src/ops/kube/deployment-pods.js';

describe('parseQuantity', () => {
  it('reads CPU as cores', () => {
    expect(parseQuantity('250m')).toBe(0.25);
    expect(parseQuantity('1')).toBe(1);
    expect(parseQuantity('1.5')).toBe(1.5);
    expect(parseQuantity('1500000n')).toBe(0.0015);
    expect(parseQuantity('2500u')).toBe(0.0025);
    expect(parseQuantity('0')).toBe(0);
    expect(parseQuantity('.5')).toBe(0.5);
  });

  it('reads memory as bytes, binary and decimal suffixes and exponents', () => {
    expect(parseQuantity('512Mi')).toBe(512 * 2 ** 20);
    expect(parseQuantity('1Gi')).toBe(2 ** 30);
    expect(parseQuantity('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(parseQuantity('128974848')).toBe(128_974_848);
    expect(parseQuantity('1e9')).toBe(1e9);
    expect(parseQuantity('129e6')).toBe(129_000_000);
    expect(parseQuantity('1E3')).toBe(1000);
    expect(parseQuantity('300M')).toBe(300_000_000);
    expect(parseQuantity('64k')).toBe(64_000);
    expect(parseQuantity('100Ki')).toBe(102_400);
    expect(parseQuantity('2Ti')).toBe(2 * 2 ** 40);
    expect(parseQuantity('1E')).toBe(1e18);
    expect(parseQuantity('1Ei')).toBe(2 ** 60);
    expect(parseQuantity('+2G')).toBe(2e9);
  });

  it('returns null for what is not a quantity', () => {
    for (const text of ['', 'lots', '1.2.3', '10 Mi', '10mi', '10KB', 'Gi', 'e3', '1e', '--1', '0x10']) {
      expect(parseQuantity(text), text).toBeNull();
    }
    expect(parseQuantity(undefined)).toBeNull();
    expect(parseQuantity(null)).toBeNull();
  });
});

describe('labelSelector', () => {
  it('writes matchLabels and matchExpressions as the API expects them', () => {
    expect(labelSelector({ matchLabels: { app: 'recipe-database', tier: 'db' } })).toBe('app=recipe-database,tier=db');
    expect(
      labelSelector({
        matchLabels: { app: 'db' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['prod', 'staging'] },
          { key: 'canary', operator: 'NotIn', values: ['true'] },
          { key: 'owner', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=db,env in (prod,staging),canary notin (true),owner,!legacy');
    expect(labelSelector(undefined)).toBe('');
    expect(() => labelSelector({ matchExpressions: [{ key: 'x', operator: 'Near' }] })).toThrow('unknown label selector operator Near on x');
  });
});
