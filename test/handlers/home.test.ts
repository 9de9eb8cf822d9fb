/**
 * What the App Home shows of the alerts and of the running maintenance, read by `readHome` from
 * the real state database (and the real Alertmanager, Debian's 0.25) and drawn by `homeView`:
 * the alerts Alertmanager holds when ALERTMANAGER_URL is set; what the bot received and has not
 * seen resolved otherwise, or when Alertmanager does not answer in time; no source at all when no
 * alert can reach the bot. A maintenance run shows what it does and who asked, while it holds the
 * operation lock.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import type { Message } from '../../src/bot/blocks.js';
import { homeView } from '../../src/bot/views/home-view.js';
import { receiveAlertNotification } from '../../src/handlers/alert-notifications.js';
import { readHome } from '../../src/handlers/home.js';
import { parseAlertNotification } from '../../src/ops/alertmanager/webhook-payload.js';
import { acquireOperationLock } from '../../src/ops/operation-lock.js';
import { insertMaintenanceRun } from '../../src/state/maintenance-runs.js';
import { startAlertmanager, type RunningAlertmanager } from '../support/alertmanager.js';
import { freePort } from '../support/free-port.js';
import { openTestServices, type TestServices } from '../support/services.js';
import { createDemoTestDatabase, createTestDatabase } from '../support/postgres.js';

const TOKEN = 'home-alerts-token-0123456789abcdef';
const samples = JSON.parse(readFileSync(new URL('../fixtures/alertmanager-webhooks.json', import.meta.url), 'utf8')) as Record<string, { body: unknown }>;

let databaseUrl: string;
let stateDatabaseUrl: string;
const opened: TestServices[] = [];
let am: RunningAlertmanager | undefined;
let silent: Server | undefined;

/** Services over the same databases, configured with `env`. */
async function services(env: Record<string, string>): Promise<TestServices> {
  const s = await openTestServices({ databaseUrl, stateDatabaseUrl, env });
  opened.push(s);
  return s;
}

/** The Home tab as the console would render it, and its "Alerts firing" part alone. */
async function home(s: TestServices): Promise<{ text: string; alerts: string; running: string }> {
  const { text } = renderBlocks({ text: '', blocks: homeView(await readHome(s, 'U_BOB')).blocks as Message['blocks'] }, { width: 200 });
  const part = (title: string) => text.split(/\n─+\n/).find((p) => p.startsWith(title)) ?? '';
  return { text, alerts: part('Alerts firing'), running: part('Running now') };
}

async function receive(s: TestServices, sample: string): Promise<void> {
  const parsed = parseAlertNotification(samples[sample]?.body);
  if (!parsed.ok) throw new Error(parsed.problem);
  await receiveAlertNotification(s, parsed.notification);
}

beforeAll(async () => {
  databaseUrl = await createDemoTestDatabase();
  stateDatabaseUrl = await createTestDatabase('state');
});

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await am?.stop();
  silent?.closeAllConnections();
  await new Promise((resolve) => (silent ? silent.close(resolve) : resolve(undefined)));
});

describe('the App Home alerts', () => {
  it('says there is no alert source when neither ALERTS_TOKEN nor ALERTMANAGER_URL is set', async () => {
    const { alerts } = await home(await services({}));
    expect(alerts).toBe('Alerts firing\nno alert source (ALERTS_TOKEN, ALERTMANAGER_URL)');
  });

  it('shows what the bot received and has not seen resolved, until it is resolved', async () => {
    const s = await services({ ALERTS_TOKEN: TOKEN, OPS_CHANNEL: 'C_OPS' });
    expect((await home(s)).alerts).toBe('Alerts firing\n🟢 none');

    await receive(s, 'firstFiring');
    const firing = (await home(s)).alerts;
    expect(firing).toMatch(/^Alerts firing\n🔴 PostgresDown \(critical\) — pg down on db1 · firing \d/);
    // Without ALERTMANAGER_URL the received alerts are the source: nothing to excuse.
    expect(firing).not.toContain('received by the bot');

    await receive(s, 'allResolved');
    expect((await home(s)).alerts).toBe('Alerts firing\n🟢 none');
  });

  it('shows the alerts Alertmanager holds when ALERTMANAGER_URL is set', async () => {
    am = await startAlertmanager({ webhookUrl: `http://127.0.0.1:${await freePort()}/alerts`, token: TOKEN });
    await am.postAlerts([
      { labels: { alertname: 'RecipeDatabaseTooManyConnections', severity: 'warning', server: 'db1:5432' }, annotations: { summary: '92 of 100 connections' } },
    ]);
    const s = await services({ ALERTS_TOKEN: TOKEN, OPS_CHANNEL: 'C_OPS', ALERTMANAGER_URL: am.url });
    let alerts = '';
    // Alertmanager lists a posted alert once it has processed it.
    for (let i = 0; i < 50 && !alerts.includes('RecipeDatabaseTooManyConnections'); i++) {
      alerts = (await home(s)).alerts;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(alerts).toMatch(/^Alerts firing\n⚠️ RecipeDatabaseTooManyConnections \(warning\) — 92 of 100 connections · firing /);
    // Alertmanager is the source: the received PostgresDown (resolved above) is not what is shown.
    expect(alerts).not.toContain('PostgresDown');
    expect(alerts).not.toContain('received by the bot');
  });

  it('falls back to the received alerts, saying why, when Alertmanager does not answer within the Home\'s budget', async () => {
    // Accepts connections and never answers: only the Home's own deadline ends the wait.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const s = await services({ ALERTS_TOKEN: TOKEN, OPS_CHANNEL: 'C_OPS', ALERTMANAGER_URL: url });
    await receive(s, 'firstFiring');
    const { alerts } = await home(s);
    expect(alerts).toMatch(/^Alerts firing\n🔴 PostgresDown \(critical\) — pg down on db1 · firing /);
    expect(alerts).toMatch(/received by the bot \(Alertmanager: Alertmanager did not answer within [\d.]+s\)/);
  });
});

describe('the App Home running operations', () => {
  it('shows the running maintenance run (what, who, where its Cancel is) while it holds the operation lock', async () => {
    const s = await services({});
    expect((await home(s)).running).toBe('Running now\nnothing');

    const lock = await acquireOperationLock(s.state, { kind: 'maintenance', by: 'U_CAROL' });
    await insertMaintenanceRun(s.state, {
      operation: 'vacuum',
      summary: 'VACUUM (ANALYZE) of recipe_manager.recipes',
      requester: 'U_CAROL',
      channel: 'C_OPS',
      instance: s.instance,
    });
    try {
      const { running } = await home(s);
      expect(running).toMatch(/^Running now\n⏳ vacuum: VACUUM \(ANALYZE\) of recipe_manager\.recipes — started by @U_CAROL \d[^\n]* ago · its message in #C_OPS has the progress and Cancel$/);
    } finally {
      await lock.release();
    }
    // A run whose replica died stays unfinished in maintenance_runs, but holds no lock: not shown.
    expect((await home(s)).running).toBe('Running now\nnothing');
  });
});
