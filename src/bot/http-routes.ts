/**
 * Health, readiness and metrics, served by Bolt's receiver in HTTP mode and by the Socket Mode
 * receiver's side server, so both modes answer the same probes.
 */
import type { CustomRoute } from '@slack/bolt';
import type pg from 'pg';
import type { Metrics } from '../metrics.js';
import { withTimeout } from '../with-timeout.js';

export function httpRoutes(state: pg.Pool, metrics: Metrics): CustomRoute[] {
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
        withTimeout(state.query('SELECT 1'), 2_000, 'the state database')
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
