import { describe, expect, it } from 'vitest';
import { digestOf, parseImageReference } from '../../../src/ops/kube/image-reference.js';
import { rolloutStatus, type RolloutState } from '../../../src/ops/kube/rollout.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('image references', () => {
  it.each([
    ['postgres:15.4-security-update', { repository: 'docker.io/library/postgres', tag: '15.4-security-update', version: '15.4', major: 15, digest: null }],
    ['bitnami/postgresql:16', { repository: 'docker.io/bitnami/postgresql', tag: '16', version: '16', major: 16 }],
    [`registry.example.com:5000/db/postgres:15.8@${DIGEST}`, { repository: 'registry.example.com:5000/db/postgres', tag: '15.8', digest: DIGEST, major: 15 }],
    ['postgres:latest', { tag: 'latest', version: null, major: null }],
    ['postgres', { tag: null, digest: null, major: null }],
    ['postgres:alpine3.19', { tag: 'alpine3.19', version: null }],
  ])('reads %s', (text, expected) => {
    expect(parseImageReference(text)).toMatchObject(expected);
  });

  it('refuses what is no reference, and finds the digest in any imageID form', () => {
    expect(() => parseImageReference('Postgres:15')).toThrow(/is not an image reference/);
    expect(() => parseImageReference('postgres:15 ; rm -rf /')).toThrow(/is not an image reference/);
    expect(digestOf(`docker-pullable://postgres@${DIGEST}`)).toBe(DIGEST);
    expect(digestOf(`docker.io/library/postgres@${DIGEST}`)).toBe(DIGEST);
    expect(digestOf('')).toBeNull();
  });
});

describe("kubectl rollout status's reading of a deployment", () => {
  const state = (s: Partial<RolloutState>): RolloutState => ({ generation: 3, observedGeneration: 3, desired: 1, total: 1, updated: 1, ready: 1, available: 1, deadlineExceeded: false, ...s });
  it.each([
    [{ observedGeneration: 2 }, false, 'waiting for the deployment controller to see the change'],
    [{ updated: 0, ready: 1, total: 1 }, false, '0 of 1 new replicas updated (1 ready)'],
    [{ total: 2 }, false, '1 old replica pending termination'],
    [{ available: 0, ready: 0 }, false, '0 of 1 updated replicas available'],
    [{ deadlineExceeded: true, available: 0 }, false, 'deployment "db" exceeded its progress deadline'],
    [{}, true, 'deployment "db" successfully rolled out'],
  ])('%o', (partial, done, message) => {
    expect(rolloutStatus('db', state(partial), 3)).toEqual({ done, message });
  });
});
