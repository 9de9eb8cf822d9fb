/**
 * Health, readiness and metrics, served by Bolt's receiver in HTTP mode and by the Socket Mode
 * receiver's side server, so both modes answer the same probes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CustomRoute } from '@slack/bolt';
import type pg from 'pg';
import type { Metrics } from '../metrics.js';
import type { Lifecycle } from '../lifecycle.js';
import { withTimeout } from '../with-timeout.js';
import { ping } from '../ops/postgres/ping.js';
import { MAX_BODY_BYTES, refuseLargeBodies } from './read-body.js';

export function httpRoutes(state: pg.Pool, metrics: Metrics, lifecycle: Pick<Lifecycle, 'draining'>): CustomRoute[] {
  return [
    {
      path: '/healthz',
      method: ['GET'],
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok\n');
      },
    },
    {
      path: '/readyz',
      method: ['GET'],
      handler: (_req, res) => {
        // A draining replica asks for no new traffic; it still serves what reaches it.
        if (lifecycle.draining) {
          res.writeHead(503, { 'content-type': 'text/plain' });
          res.end('shutting down\n');
          return;
        }
        withTimeout(ping(state), 2_000, 'the state database')
          .then(() => {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end('ready\n');
          })
          .catch(() => {
            res.writeHead(503, { 'content-type': 'text/plain' });
            res.end('state database unavailable\n');
          });
      },
    },
    {
      path: '/metrics',
      method: ['GET'],
      handler: (_req, res) => {
        metrics.registry
          .metrics()
          .then((body) => {
            res.writeHead(200, { 'content-type': metrics.registry.contentType });
            res.end(body);
          })
          .catch(() => {
            res.writeHead(500);
            res.end();
          });
      },
    },
  ];
}

/**
 * Serves the routes on their own server (Socket Mode, where Bolt has no HTTP receiver). Unlike
 * Bolt's side server this reports a busy port as an error, knows the port it got, and closes.
 */
export async function serveRoutes(routes: CustomRoute[], port: number, readsOwnBody: readonly string[] = []): Promise<{ port: number; close(): Promise<void> }> {
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    const route = routes.find((r) => r.path === path && (Array.isArray(r.method) ? r.method : [r.method]).includes(req.method ?? 'GET'));
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    void route.handler(Object.assign(req, { params: {} }), res);
  };
  // Bodies bounded as on Bolt's receiver (read-body.ts): no route may be made to buffer 300 MB.
  // `readsOwnBody`: routes that read theirs with readBoundedBody after their own checks.
  const server: Server = createServer(
    refuseLargeBodies(
      serve,
      MAX_BODY_BYTES,
      (_error, _req, res) => {
        res.writeHead(500);
        res.end();
      },
      { readsOwnBody },
    ),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
