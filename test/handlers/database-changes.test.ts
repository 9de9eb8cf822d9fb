/**
 * The runbook's Scaling and Security Updates sections on the fake Kubernetes API, through the real
 * client, the real dispatcher and the approval engine: a resize that rolls out, an image update
 * that rolls out and one whose pod never becomes ready (put back), a major version refused, a
 * volume that grows and one whose class does not allow it, bad input answered in one sentence
 * without an approval request, and the operation lock keeping a restore and these apart.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { dispatchCommand, type Reply } from '../../src/bot/dispatch.js';
import { procedureReportLines } from '../../src/bot/views/procedure-report-view.js';
import { decide, outcomeOf } from '../../src/handlers/approval-engine.js';
import { GATED_ACTIONS } from '../../src/handlers/gated-actions.js';
import { acquireOperationLock } from '../../src/ops/operation-lock.js';
import { readServerVersion, type ServerVersion } from '../../src/ops/postgres/server-version.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { RECIPE_DATABASE_IMAGE, RECIPE_DATABASE_NAMESPACE as NS, addRecipeDatabase } from '../support/kube-fixtures.js';
import { openTestServices, type TestServices } from '../support/services.js';

const ALICE = { userId: 'U_ALICE', channelId: 'C_OPS' };

let kube: FakeKube;
let services: TestServices;
let server: ServerVersion;

const text = (reply: Reply): string => renderBlocks(reply.message, { width: 400 }).text;

async function approvalCount(): Promise<number> {
  const { rows } = await services.state.query<{ n: number }>('SELECT count(*)::int AS n FROM approval_requests');
  return rows[0]?.n ?? 0;
}

/** Asks as Alice; returns the answer and the approval request it made. */
async function request(command: string): Promise<{ reply: Reply; id: string; targets: string[] }> {
  const reply = await dispatchCommand(command, ALICE, services);
  const { rows } = await services.state.query<{ id: string }>("SELECT id FROM approval_requests WHERE status = 'pending' ORDER BY created_at DESC LIMIT 1");
  const id = rows[0]?.id;
  if (reply.outcome !== 'ok' || id === undefined) throw new Error(`no approval request for \`${command}\`: ${reply.outcome} ${text(reply)}`);
  const found = await services.state.query<{ plan: unknown }>('SELECT plan FROM approval_requests WHERE id = $1', [id]);
  const targets = (found.rows[0]?.plan as { targets: string[] }).targets;
  return { reply, id, targets };
}

/** Bob approves; returns the outcome and the report as the request's message shows it. */
async function approve(id: string): Promise<{ ok: boolean; summary: string; report: string }> {
  const result = await decide(services, GATED_ACTIONS, { id, userId: 'U_BOB', decision: 'approve' }, async () => undefined);
  if (result.kind !== 'decided') throw new Error(`not decided: ${result.kind}`);
  const outcome = outcomeOf(result.request);
  if (outcome === null) throw new Error('no outcome');
  return { ok: outcome.ok, summary: outcome.summary, report: (outcome.report ? procedureReportLines(outcome.report) : outcome.lines).join('\n') };
}

async function databasePods(): Promise<{ name: string; image: string; ready: boolean; memoryLimit?: string }[]> {
  const list = await services.kube?.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=recipe-database' });
  return (list?.items ?? []).map((p) => ({
    name: p.metadata?.name ?? '',
    image: p.spec?.containers[0]?.image ?? '',
    ready: p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
    memoryLimit: p.spec?.containers[0]?.resources?.limits?.memory,
  }));
}

const patches = () => kube.requests.filter((r) => r.method === 'PATCH');

beforeAll(async () => {
  kube = await startFakeKube();
  addRecipeDatabase(kube, { resize: 'offline' });
  services = await openTestServices({ kubeconfig: kube.kubeconfigPath, env: { APPROVERS: 'U_BOB', ROLLOUT_TIMEOUT: '2s' } });
  server = await readServerVersion(services.db);
});

afterAll(async () => {
  await services?.close();
  await kube?.close();
});

beforeEach(() => {
  kube.rolloutDelayMs = 0;
});

describe('resize', () => {
  it('shows current → new with the restart warning, then patches the container, follows the rollout and finds the server back', async () => {
    const [before] = await databasePods();
    const { targets, id } = await request('resize --memory 1Gi/2Gi --cpu 500m');
    expect(targets).toEqual([
      'recipe-database/recipe-database, container recipe-database',
      'CPU: request 250m → 500m, limit 1 core (unchanged)',
      'memory: request 512Mi → 1Gi, limit 1Gi → 2Gi',
      expect.stringMatching(/^⚠ the database pod restarts: with 1 replica the database is DOWN during the rollout — the old pod stops before the new one starts \(strategy Recreate\); the current pod took \d+ms from creation to ready$/),
      'if the new pod is not ready within 2.0s, the previous requests and limits are put back',
    ]);
    expect(patches()).toEqual([]);

    kube.rolloutDelayMs = 300;
    const outcome = await approve(id);
    expect(outcome.ok).toBe(true);
    const [after, ...others] = await databasePods();
    expect(others).toEqual([]);
    expect(after?.name).not.toBe(before?.name);
    expect(after).toMatchObject({ ready: true, memoryLimit: '2Gi' });
    expect(outcome.summary).toBe(`recipe-database/recipe-database runs with cpu 500m/1, memory 1Gi/2Gi (request/limit): pod ${after?.name} is ready and the server answers`);
    expect(outcome.report).toMatch(/^3\. follow the rollout — ok \(.+\) · deployment "recipe-database" successfully rolled out in /m);
    expect(outcome.report).toContain('5. the server answers — ok');
    expect(kube.deployment(NS, 'recipe-database')?.containers[0]).toMatchObject({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } });
    // One strategic merge patch of the one container, by name, with only what changed.
    const [patch] = patches();
    expect(patch?.contentType).toBe('application/strategic-merge-patch+json');
    expect(patch?.body).toEqual({
      spec: { template: { spec: { containers: [{ name: 'recipe-database', resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } } }] } } },
    });
    expect(kube.forbidden).toEqual([]);
  });

  it('puts the previous requests and limits back when no node has room for the new pod', async () => {
    kube.schedulableMemory = '3Gi';
    try {
      const { id } = await request('resize --memory 4Gi/4Gi');
      const outcome = await approve(id);
      expect(outcome.ok).toBe(false);
      expect(outcome.summary).toMatch(
        /^FAILED at step 3: the new pod did not become ready within 2\.0s \(.*\): pod recipe-database-\S+ is Pending, not ready, Unschedulable; FailedScheduling ×2: 0\/1 nodes are available: 1 Insufficient memory\./,
      );
      expect(outcome.report).toMatch(/^ {3}↩ undo of step 2: put cpu 500m\/1, memory 1Gi\/2Gi \(request\/limit\) back — ok/m);
      expect(outcome.report).toContain('Resources: back to cpu 500m/1, memory 1Gi/2Gi (request/limit) again');
      expect(await databasePods()).toEqual([expect.objectContaining({ ready: true, memoryLimit: '2Gi' })]);
    } finally {
      kube.schedulableMemory = null;
    }
  });

  it.each([
    ['resize --memory 1Tb', '`resize` --memory takes REQ or REQ/LIMIT, like 512Mi, 4Gi or 2Gi/4Gi: "1Tb" is not a Kubernetes quantity.'],
    ['resize --cpu -1', '`resize` --cpu takes REQ or REQ/LIMIT, like 500m, 2 or 1/2: "-1" is not a Kubernetes quantity.'],
    ['resize --memory 2Ti', '`resize` --memory 2Ti is out of bounds: it must be between 64Mi and 512Gi.'],
    ['resize --memory 4Gi/2Gi', '`resize` --memory 4Gi/2Gi: the request 4Gi is more than the limit 2Gi.'],
    ['resize', '`resize` needs --cpu REQ[/LIMIT] or --memory REQ[/LIMIT] (e.g. --memory 1Gi/2Gi).'],
  ])('`%s` gets one sentence and no approval request', async (command, sentence) => {
    const before = await approvalCount();
    const reply = await dispatchCommand(command, ALICE, services);
    expect(reply.outcome).toBe('usage');
    expect(text(reply)).toContain(sentence);
    expect(await approvalCount()).toBe(before);
  });

  it('refuses a request above the limit it keeps, saying how to give both', async () => {
    const before = await approvalCount();
    const reply = await dispatchCommand('resize --memory 3Gi', ALICE, services);
    expect(reply.outcome).toBe('refused');
    expect(text(reply)).toContain("The memory request 3Gi would be above the container's memory limit 2Gi: give both, e.g. `--memory 3Gi/3Gi`.");
    expect(await approvalCount()).toBe(before);
  });
});

describe('image', () => {
  it('refuses another major version, latest and an image without a tag, without an approval request', async () => {
    const before = await approvalCount();
    const patchesBefore = patches().length;
    const major = await dispatchCommand(`image postgres:${server.major + 1}.2`, ALICE, services);
    expect(major.outcome).toBe('refused');
    expect(text(major)).toContain(
      `postgres:${server.major + 1}.2 is PostgreSQL ${server.major + 1}, but the database runs PostgreSQL ${server.version}: another major version cannot open this data directory without pg_upgrade`,
    );
    const latest = await dispatchCommand('image postgres:latest', ALICE, services);
    expect(latest.outcome).toBe('usage');
    expect(text(latest)).toContain('`image` cannot use the tag latest: it names no version, and moves — give the exact version, e.g. postgres:15.8.');
    const bare = await dispatchCommand('image postgres', ALICE, services);
    expect(text(bare)).toContain('`image` needs a tag: "postgres" alone means latest');
    const alpine = await dispatchCommand('image postgres:alpine', ALICE, services);
    expect(text(alpine)).toContain('needs a tag that names the PostgreSQL version');
    expect(await approvalCount()).toBe(before);
    expect(patches()).toHaveLength(patchesBefore);
  });

  it('puts the previous image back when the new pod never becomes ready, and reports both rollouts', async () => {
    const broken = `postgres:${server.major}.99`;
    kube.setImageBehaviour(broken, 'crash-loop');
    const revision = kube.deployment(NS, 'recipe-database')?.revision ?? 0;
    const { targets, id } = await request(`image ${broken}`);
    expect(targets[1]).toMatch(new RegExp(`^image ${RECIPE_DATABASE_IMAGE} \\(sha256:[0-9a-f]{12}…\\) → ${broken.replace('.', '\\.')} \\(digest: whatever the tag points at when pulled\\)$`));
    expect(targets).toContain(`if the new pod is not ready within 2.0s, ${RECIPE_DATABASE_IMAGE} is put back and its rollout followed`);

    const outcome = await approve(id);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/^FAILED, rolled back: the new pod did not become ready within 2\.0s \(.*\): pod recipe-database-\S+ is Running, not ready, CrashLoopBackOff, 3 restarts, last exit Error \(code 1\); BackOff ×3: Back-off restarting failed container recipe-database/);
    expect(outcome.summary).toContain(`; ${RECIPE_DATABASE_IMAGE} was put back and runs again`);
    expect(outcome.report).toMatch(/^3\. follow the rollout — FAILED after/m);
    expect(outcome.report).toMatch(new RegExp(`^ {3}↩ undo of step 2: put ${RECIPE_DATABASE_IMAGE} back — ok \\(.+\\) · rolled out in .+, pod recipe-database-\\S+ ready \\(sha256:`, 'm'));
    expect(outcome.report).toContain('4. the new pod runs the new image — not run');
    expect(outcome.report).toMatch(new RegExp(`Image: ${RECIPE_DATABASE_IMAGE} again \\(sha256:[0-9a-f]{12}…\\) — ${broken.replace('.', '\\.')} was rolled back`));
    // What the API now reports: the old image, a ready pod of it, and two revisions more (the new image, then the old one again).
    expect(kube.deployment(NS, 'recipe-database')).toMatchObject({ revision: revision + 2, containers: [expect.objectContaining({ image: RECIPE_DATABASE_IMAGE }), expect.anything()] });
    expect(await databasePods()).toEqual([expect.objectContaining({ image: RECIPE_DATABASE_IMAGE, ready: true })]);
  });

  it('updates within the major version: new imageID, and the server_version the tag names', async () => {
    const wanted = `postgres:${server.version}`;
    const { id } = await request(`image ${wanted}`);
    const outcome = await approve(id);
    expect(outcome.ok).toBe(true);
    expect(outcome.summary).toMatch(new RegExp(`^recipe-database/recipe-database runs ${wanted.replace(/\./g, '\\.')} \\(sha256:[0-9a-f]{12}…\\), PostgreSQL ${server.version.replace(/\./g, '\\.')}$`));
    const [, now, was] = /4\. pod recipe-database-\S+ is ready — ok \(.+\) · imageID (sha256:[0-9a-f]{12})… \(was (sha256:[0-9a-f]{12})…\)/.exec(outcome.report) ?? [];
    expect(now).toBeDefined();
    expect(now).not.toBe(was);
    expect(outcome.report).toContain(`5. server_version ${server.version} — ok`);
    expect(await databasePods()).toEqual([expect.objectContaining({ image: wanted, ready: true })]);
  });
});

describe('storage', () => {
  it('shows the claim, its class and the database size against its capacity', async () => {
    const reply = await dispatchCommand('storage', ALICE, services);
    const shown = text(reply);
    expect(reply.outcome).toBe('ok');
    expect(shown).toContain('Storage of recipe-database/recipe-database-pvc');
    expect(shown).toContain('Capacity: 10Gi');
    expect(shown).toContain('standard · pd.csi.storage.gke.io · allows expansion (`storage expand <size>`)');
    expect(shown).toMatch(/On the volume: database demo_\S+ [\d.]+ MiB · all databases [\d.]+ MiB · WAL [\d.]+ MiB — \d+% of the 10.0 GiB capacity/);
  });

  it('refuses a size below today\'s with one sentence and no approval request', async () => {
    const before = await approvalCount();
    const reply = await dispatchCommand('storage expand 1Gi', ALICE, services);
    expect(reply.outcome).toBe('refused');
    expect(text(reply)).toContain('1Gi is smaller than the 10Gi it requests today: a volume claim can only grow. Nothing was requested.');
    const bad = await dispatchCommand('storage expand lots', ALICE, services);
    expect(bad.outcome).toBe('usage');
    expect(text(bad)).toContain('`storage` expand takes a size like 20Gi or 1Ti, not "lots".');
    expect(await approvalCount()).toBe(before);
  });

  it('grows the claim and says the pod must restart when the driver expands offline', async () => {
    const { targets, id } = await request('storage expand 20Gi');
    expect(targets[0]).toBe('recipe-database/recipe-database-pvc (storage class standard, pd.csi.storage.gke.io): requested 10Gi → 20Gi; capacity now 10Gi');
    const outcome = await approve(id);
    expect(outcome.ok).toBe(true);
    expect(outcome.summary).toBe(
      'recipe-database/recipe-database-pvc now requests 20Gi; the file system grows to the new size only when the database pod restarts (FileSystemResizePending)',
    );
    expect(outcome.report).toContain('3. follow the resize — DIFFER');
    expect(kube.volumeClaim(NS, 'recipe-database-pvc')).toEqual({ requested: '20Gi', capacity: '10Gi', conditions: ['FileSystemResizePending'] });
    const shown = text(await dispatchCommand('storage', ALICE, services));
    expect(shown).toContain('FileSystemResizePending: Waiting for user to (re-)start a pod to finish file system resize of volume on node. — the file system grows to the new size when the database pod restarts');
  });

  it('refuses a claim whose storage class does not allow expansion', async () => {
    const fixed = await startFakeKube();
    addRecipeDatabase(fixed, { storageClass: 'fixed' });
    const other = await openTestServices({ kubeconfig: fixed.kubeconfigPath, env: { APPROVERS: 'U_BOB' } });
    try {
      const reply = await dispatchCommand('storage expand 20Gi', ALICE, other);
      expect(reply.outcome).toBe('refused');
      expect(text(reply)).toContain(
        'The storage class fixed of recipe-database/recipe-database-pvc does not allow volume expansion (allowVolumeExpansion is not true), so the claim cannot grow to 20Gi. Nothing was requested.',
      );
      const { rows } = await other.state.query<{ n: number }>('SELECT count(*)::int AS n FROM approval_requests');
      expect(rows[0]?.n).toBe(0);
      expect(fixed.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
      expect(fixed.forbidden).toEqual([]);
    } finally {
      await other.close();
      await fixed.close();
    }
  });
});

describe('one operation on the database at a time', () => {
  it('an approved resize waits for nothing and changes nothing while a restore runs', async () => {
    const { id } = await request('resize --memory 1536Mi/2Gi');
    const before = patches().length;
    const restore = await acquireOperationLock(services.state, { kind: 'restore', by: 'U_CAROL' });
    try {
      const outcome = await approve(id);
      expect(outcome).toMatchObject({ ok: false, summary: 'a restore is running (started by @U_CAROL); nothing was done' });
      expect(patches()).toHaveLength(before);
    } finally {
      await restore.release();
    }
  });
});
