/**
 * `events [--since D]` on the fake Kubernetes API through the real client: the database's warnings
 * (its pods, ReplicaSet, deployment and volume claim) newest first with count and age, whichever
 * way they were written, and nothing about other objects of the namespace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { dispatchCommand, type Reply } from '../../src/bot/dispatch.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { RECIPE_DATABASE_NAMESPACE as NS, addRecipeDatabase } from '../support/kube-fixtures.js';
import { openTestServices, type TestServices } from '../support/services.js';

const ALICE = { userId: 'U_ALICE', channelId: 'C_OPS' };
const ago = (ms: number): Date => new Date(Date.now() - ms);
const text = (reply: Reply): string => renderBlocks(reply.message, { width: 400 }).text;

let kube: FakeKube;
let services: TestServices;

beforeAll(async () => {
  kube = await startFakeKube();
  addRecipeDatabase(kube);
  services = await openTestServices({ kubeconfig: kube.kubeconfigPath });
  const pod = 'recipe-database-7d9f8b-x2k4q';
  kube.addEvent({ namespace: NS, involvedObject: { kind: 'Pod', name: pod }, type: 'Warning', reason: 'BackOff', message: `Back-off restarting failed container recipe-database in pod ${pod}_${NS}`, count: 5, firstTimestamp: ago(20 * 60_000), lastTimestamp: ago(2 * 60_000) });
  kube.addEvent({ namespace: NS, involvedObject: { kind: 'Pod', name: 'recipe-database-5c8d7f9b6d-abcde' }, type: 'Warning', reason: 'FailedScheduling', message: '0/3 nodes are available: 3 Insufficient memory.', count: 4, firstTimestamp: ago(9 * 60_000), lastTimestamp: ago(60_000), api: 'events.k8s.io' });
  kube.addEvent({ namespace: NS, involvedObject: { kind: 'PersistentVolumeClaim', name: 'recipe-database-pvc' }, type: 'Warning', reason: 'VolumeResizeFailed', message: 'resize volume "pvc-1" by resizer "pd.csi.storage.gke.io" failed: quota exceeded', lastTimestamp: ago(10 * 60_000) });
  kube.addEvent({ namespace: NS, involvedObject: { kind: 'ReplicaSet', name: 'recipe-database-7d9f8b' }, type: 'Warning', reason: 'FailedCreate', message: 'Error creating: pods "recipe-database-7d9f8b-" is forbidden: exceeded quota', lastTimestamp: ago(2 * 3_600_000) });
  kube.addEvent({ namespace: NS, involvedObject: { kind: 'Deployment', name: 'recipe-database' }, type: 'Normal', reason: 'ScalingReplicaSet', message: 'Scaled up replica set recipe-database-7d9f8b to 1' });
  kube.addEvent({ namespace: NS, involvedObject: { kind: 'Pod', name: 'recipe-database-exporter-7d9f8b6c5d-qwert' }, type: 'Warning', reason: 'Unhealthy', message: 'Readiness probe failed' });
  kube.addEvent({ namespace: NS, involvedObject: { kind: 'Pod', name: 'pgbouncer-6b7c8d9f5-zxcvb' }, type: 'Warning', reason: 'Unhealthy', message: 'Liveness probe failed' });
});

afterAll(async () => {
  await services?.close();
  await kube?.close();
});

describe('events', () => {
  it("lists the database's warnings newest first, with count and age, and only those", async () => {
    const reply = await dispatchCommand('events', ALICE, services);
    expect(reply.outcome).toBe('ok');
    const lines = text(reply).split('\n').filter((l) => l.startsWith('⚠️'));
    expect(lines).toEqual([
      expect.stringMatching(/^⚠️ 1m( \d+s)? ago · Pod `recipe-database-5c8d7f9b6d-abcde` · FailedScheduling ×4 — 0\/3 nodes are available: 3 Insufficient memory\.$/),
      expect.stringMatching(/^⚠️ 2m( \d+s)? ago · Pod `recipe-database-7d9f8b-x2k4q` · BackOff ×5 — Back-off restarting failed container recipe-database/),
      expect.stringMatching(/^⚠️ 10m( \d+s)? ago · PersistentVolumeClaim `recipe-database-pvc` · VolumeResizeFailed — resize volume/),
      expect.stringMatching(/^⚠️ 2h( \d+[ms])? ago · ReplicaSet `recipe-database-7d9f8b` · FailedCreate — Error creating/),
    ]);
    expect(text(reply)).toContain('2 other warning events in recipe-database about other objects left out');
    // One list of the namespace's warnings, filtered by the API server.
    const list = kube.requests.filter((r) => r.path === `/api/v1/namespaces/${NS}/events`);
    expect(list.at(-1)?.query.fieldSelector).toBe('type=Warning');
    expect(kube.forbidden).toEqual([]);
  });

  it('--since keeps the recent ones; a bad duration gets one sentence', async () => {
    const recent = text(await dispatchCommand('events --since 30m', ALICE, services));
    expect(recent).not.toContain('FailedCreate');
    expect(recent).toContain('VolumeResizeFailed');
    const none = text(await dispatchCommand('events --since 10s', ALICE, services));
    expect(none).toContain("No warning events about the database's pods, volume claim or deployment in the last 10s.");
    const bad = await dispatchCommand('events --since soon', ALICE, services);
    expect(bad.outcome).toBe('usage');
    expect(text(bad)).toContain('`events` --since takes a duration like 30m or 2h.');
  });

  it('says when Kubernetes is not configured', async () => {
    const plain = await openTestServices();
    try {
      expect(text(await dispatchCommand('events', ALICE, plain))).toContain('Kubernetes is not configured, so there are no events to read');
    } finally {
      await plain.close();
    }
  });
});
