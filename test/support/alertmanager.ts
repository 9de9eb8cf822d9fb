/**
 * The real Alertmanager (Debian's `prometheus-alertmanager` 0.25) as a child process, configured
 * with one webhook receiver (the bot's `/alerts`, with a bearer token), for tests where alerts
 * reach the bot through Alertmanager's own grouping, resolution and retries.
 *
 *   const am = await startAlertmanager({ webhookUrl: `${bot.baseUrl}/alerts`, token });
 *   await am.postAlerts([{ labels: { alertname: 'RecipeDatabaseDown', severity: 'critical' } }]);
 *   const silences = await am.silences();
 *   const id = await am.silence({ matchers: { alertname: 'RecipeDatabaseDown' }, createdBy: 'erin', comment: 'maintenance' }); // as the UI or amtool would
 *   await am.restart(); // keeps its silences, loses its alerts until they are posted again
 *   await am.stop();
 *
 * It runs without clustering, on 127.0.0.1, with a fresh storage folder; it is SIGKILLed if the
 * test process exits without stopping it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

const BINARY = process.env.ALERTMANAGER_BIN ?? 'prometheus-alertmanager';

export interface PostedAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface AlertmanagerSilence {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
  createdBy: string;
  comment: string;
  startsAt: string;
  endsAt: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[];
}

export interface StartAlertmanagerOptions {
  /** The bot's /alerts URL. */
  webhookUrl: string;
  token: string;
  /** A port chosen beforehand (so the bot can be told ALERTMANAGER_URL first); else a free one. */
  port?: number;
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  /** Alertmanager's max_alerts of the receiver (0: all). */
  maxAlerts?: number;
  /** inhibit_rules, as in alertmanager.yml: a target alert is muted while a source alert with the same `equal` labels fires. */
  inhibitRules?: { sourceMatchers: string[]; targetMatchers: string[]; equal: string[] }[];
}

export interface SilenceRequest {
  /** Label equalities. */
  matchers: Record<string, string>;
  createdBy: string;
  comment: string;
  /** From now; 1h unless told. */
  forMs?: number;
}

export interface RunningAlertmanager {
  url: string;
  postAlerts(alerts: PostedAlert[]): Promise<void>;
  silences(): Promise<AlertmanagerSilence[]>;
  /** Creates a silence directly in Alertmanager (not through the bot); returns its id. */
  silence(request: SilenceRequest): Promise<string>;
  /** Its log so far (debug level: "Notify success", "Notify attempt failed", …). */
  log(): string;
  /** Stops and starts it again on the same port and storage: silences and notification log kept, alerts lost (it does not store them). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function config(o: StartAlertmanagerOptions): string {
  // JSON is YAML: no quoting questions for the URL and the token.
  return JSON.stringify({
    global: { resolve_timeout: '5m' },
    route: {
      receiver: 'recipedb-ops',
      group_by: ['alertname'],
      // At least 100ms: with 0s a large batch can be split into two notifications.
      group_wait: o.groupWait ?? '100ms',
      group_interval: o.groupInterval ?? '100ms',
      repeat_interval: o.repeatInterval ?? '1h',
    },
    inhibit_rules: (o.inhibitRules ?? []).map((r) => ({ source_matchers: r.sourceMatchers, target_matchers: r.targetMatchers, equal: r.equal })),
    receivers: [
      {
        name: 'recipedb-ops',
        webhook_configs: [
          { url: o.webhookUrl, send_resolved: true, max_alerts: o.maxAlerts ?? 0, http_config: { authorization: { type: 'Bearer', credentials: o.token } } },
        ],
      },
    ],
  });
}

interface AlertmanagerProcess {
  /** Ends it (SIGTERM, then SIGKILL after 3 s); resolves once it has exited. */
  end(): Promise<void>;
}

/** Spawns Alertmanager on the folder's config and storage and waits until it is ready. */
async function launch(dir: string, port: number, url: string, appendLog: (text: string) => void, logSoFar: () => string): Promise<AlertmanagerProcess> {
  const child = spawn(
    BINARY,
    [
      '--cluster.listen-address=',
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${url}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--config.file=${path.join(dir, 'alertmanager.yml')}`,
      '--log.level=debug',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } },
  );
  running.add(child);
  child.stdout?.on('data', (chunk: Buffer) => appendLog(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => appendLog(chunk.toString()));
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      running.delete(child);
      resolve();
    }),
  );
  child.once('error', (error) => appendLog(`\n${error.message}`));
  const end = async () => {
    if (exitCode !== undefined) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(killer);
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exitCode !== undefined) {
      throw new Error(`prometheus-alertmanager exited with ${exitCode} (apt-get install -y prometheus-alertmanager?):\n${logSoFar().slice(-2000)}`);
    }
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) return { end };
    if (Date.now() > deadline) {
      await end();
      throw new Error(`prometheus-alertmanager was not ready within 10 s:\n${logSoFar().slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startAlertmanager(options: StartAlertmanagerOptions): Promise<RunningAlertmanager> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'recipedb-am-'));
  writeFileSync(path.join(dir, 'alertmanager.yml'), config(options));
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const start = () => launch(dir, port, url, (text) => (log += text), () => log);
  let current = await start().catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  const stop = async () => {
    await current.end();
    rmSync(dir, { recursive: true, force: true });
  };

  const api = async (method: string, apiPath: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${url}${apiPath}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`Alertmanager ${method} ${apiPath}: ${response.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  };

  return {
    url,
    postAlerts: async (alerts) => {
      await api('POST', '/api/v2/alerts', alerts);
    },
    silences: async () => (await api('GET', '/api/v2/silences')) as AlertmanagerSilence[],
    silence: async (request) => {
      const now = Date.now();
      const created = (await api('POST', '/api/v2/silences', {
        matchers: Object.entries(request.matchers).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true })),
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + (request.forMs ?? 3_600_000)).toISOString(),
        createdBy: request.createdBy,
        comment: request.comment,
      })) as { silenceID: string };
      return created.silenceID;
    },
    log: () => log,
    restart: async () => {
      await current.end();
      current = await start();
    },
    stop,
  };
}
