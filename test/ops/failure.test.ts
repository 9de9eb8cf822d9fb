/**
 * One module turns what was thrown into the operator's sentence, and keeps the original as the
 * cause for the log: real errors from a refused TCP connection, a dead exporter, and a Kubernetes
 * API answer.
 */
import net from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { describeFailure, Failure, failure, networkProblem } from '../../src/ops/failure.js';
import { fetchMetricsText } from '../../src/ops/exporter/fetch-metrics-text.js';
import { kubeFailure } from '../../src/ops/kube/kube-failure.js';
import { freePort } from '../support/free-port.js';

async function refusedPort(): Promise<number> {
  // A port that was free a moment ago, with nothing listening: connections are refused.
  const port = await freePort();
  await new Promise<void>((resolve) => net.createServer().listen(port, '127.0.0.1').close(() => resolve()));
  return port;
}

describe('failure sentences', () => {
  it('a refused pg connection is one sentence, however the driver wraps it', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: await refusedPort(), connectionTimeoutMillis: 2_000 });
    const error = await client.connect().then(() => undefined, (e: unknown) => e);
    expect(networkProblem(error)).toBe('connection refused');
    expect(describeFailure(error)).toBe('connection refused (is the server running?)');
  });

  it('a dead exporter is named as such, with the network error kept as the cause', async () => {
    const error = await fetchMetricsText(`http://127.0.0.1:${await refusedPort()}/metrics`, 2_000).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(Failure);
    expect(describeFailure(error)).toBe('the exporter refused the connection (is it running?)');
    expect((error as Error).cause).toBeDefined();
    expect(networkProblem((error as Error).cause)).toBe('connection refused');
  });

  it('a Kubernetes refusal names what the bot may not do, and keeps the API answer as the cause', () => {
    const apiError = Object.assign(new Error('HTTP-Code: 403\nMessage: Unknown API Status Code!\nBody: {}'), { code: 403, body: '{"kind":"Status","message":"forbidden"}' });
    const sentence = kubeFailure(apiError, { what: 'patch the deployment recipe-database/recipe-database' });
    expect(describeFailure(sentence)).toBe("the bot's Kubernetes account may not patch the deployment recipe-database/recipe-database (403 Forbidden)");
    expect(sentence.cause).toBe(apiError);
  });

  it('a 403 from an admission plugin, not RBAC, gives the plugin\'s reason', () => {
    const message = 'persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize';
    const apiError = Object.assign(new Error('HTTP-Code: 403'), { code: 403, body: JSON.stringify({ kind: 'Status', message }) });
    expect(kubeFailure(apiError, { what: 'patch the volume claim db/data' }).message).toBe(`Kubernetes refused to patch the volume claim db/data: ${message}`);
    const rbac = Object.assign(new Error('HTTP-Code: 403'), { code: 403, body: JSON.stringify({ kind: 'Status', message: 'persistentvolumeclaims "data" is forbidden: User "system:serviceaccount:a:b" cannot patch resource "persistentvolumeclaims"' }) });
    expect(kubeFailure(rbac, { what: 'patch the volume claim db/data' }).message).toBe("the bot's Kubernetes account may not patch the volume claim db/data (403 Forbidden)");
  });

  it('a sentence made by failure() passes through unchanged', () => {
    expect(describeFailure(failure('the backup file is not one the bot wrote', new Error('ENOENT')))).toBe('the backup file is not one the bot wrote');
  });
});
