/**
 * `logs --previous`: the log of each database pod's crashed container, the one log an operator
 * wants after a restart, read with `previous=true` from the fake API, which (like the real one)
 * answers 400 "previous terminated container … not found" for a container that never restarted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsHandler, type LogsResult } from '../../src/handlers/logs.js';
import { logsView } from '../../src/bot/views/logs-view.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { handlerContext, openTestServices, type TestServices } from '../support/services.js';

const NS = 'recipe-database';
let kube: FakeKube;
let services: TestServices;
let crashed = '';
let healthy = '';

async function logs(flags: Record<string, string | true>): Promise<Extract<LogsResult, { configured: true }>> {
  const result = await logsHandler.run(logsHandler.args.parse({ positional: [], flags, text: '' }), handlerContext(services));
  if (!result.configured) throw new Error('Kubernetes is not configured');
  return result;
}

beforeAll(async () => {
  kube = await startFakeKube();
  services = await openTestServices({ kubeconfig: kube.kubeconfigPath });
  kube.addDeployment({ namespace: NS, name: 'recipe-database', replicas: 2, containers: [{ name: 'recipe-database' }] });
  const list = await services.kube?.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=recipe-database' });
  [crashed = '', healthy = ''] = (list?.items ?? []).map((p) => p.metadata?.name ?? '').sort();
  kube.setPod(NS, crashed, { restarts: 1 });
  kube.setLogs(NS, crashed, 'recipe-database', '2026-12-01 03:00:05 UTC [1] LOG:  database system is ready to accept connections\n');
  kube.setPreviousLogs(
    NS,
    crashed,
    'recipe-database',
    '2026-12-01 02:59:58 UTC [88] LOG:  checkpoint starting: time\n2026-12-01 02:59:59 UTC [1] PANIC:  could not write to file "pg_wal/xlogtemp.1": No space left on device\n',
  );
  kube.setLogs(NS, healthy, 'recipe-database', 'replica says hello\n');
});
afterAll(async () => {
  await services.close();
  await kube.close();
});

describe('logs --previous', () => {
  it("shows the crashed container's log, and says which pods have none", async () => {
    const result = await logs({ previous: true });
    expect(result.previous).toBe(true);
    const byPod = new Map(result.pods.map((p) => [p.pod, p]));
    expect(byPod.get(crashed)).toMatchObject({
      error: null,
      lines: [
        { text: '2026-12-01 02:59:58 UTC [88] LOG:  checkpoint starting: time', error: false },
        { text: expect.stringContaining('PANIC:  could not write to file'), error: true },
      ],
    });
    expect(byPod.get(healthy)).toMatchObject({ lines: [], error: 'no previous container: recipe-database has not restarted in this pod' });
    // Asked the API for the previous instance, through deploy/'s Role.
    expect(kube.requests.filter((r) => r.path.endsWith('/log')).every((r) => r.query.previous === 'true')).toBe(true);
    expect(kube.forbidden).toEqual([]);

    const view = logsView(result);
    expect(view.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Previous logs of recipe-database/recipe-database' } });
    expect(JSON.stringify(view.blocks)).toContain('no previous container');
  });

  it('reads the running container without the flag', async () => {
    const result = await logs({});
    expect(result.previous).toBe(false);
    expect(result.pods.find((p) => p.pod === crashed)?.lines.map((l) => l.text)).toEqual([
      '2026-12-01 03:00:05 UTC [1] LOG:  database system is ready to accept connections',
    ]);
  });

  it('takes no value', () => {
    expect(logsHandler.args.safeParse({ positional: [], flags: { previous: 'yes' }, text: '' }).error?.issues[0]?.message).toBe('--previous takes no value');
  });
});
