/**
 * `/recipedb status` through Slack with the Kubernetes API answering, then hanging: the posted
 * message shows the database pod, and with the API hung it still comes within the budget, the
 * PostgreSQL part intact and Kubernetes one line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import type { Message } from '../../src/bot/blocks.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube.js';
import { RECIPE_DATABASE_NAMESPACE, addRecipeDatabase } from '../support/kube-fixtures.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import type { SlackCall } from '../support/fake-slack.js';

const NS = RECIPE_DATABASE_NAMESPACE;

let kube: FakeKube;
let bot: TestBot;

beforeAll(async () => {
  kube = await startFakeKube();
  addRecipeDatabase(kube);
  bot = await startTestBot({ kube });
});

afterAll(async () => {
  await bot?.stop();
  await kube?.close();
});

function textOf(call: SlackCall): string {
  return renderBlocks({ text: String(call.body.text), blocks: call.body.blocks as Message['blocks'] }, { width: 200 }).text;
}

describe('status through Slack with Kubernetes', () => {
  it('posts the pods of the database deployment with their usage', async () => {
    const pods = await bot.services.kube?.core.listNamespacedPod({ namespace: NS });
    const pod = pods?.items[0]?.metadata?.name ?? '';
    kube.setPodMetrics(NS, pod, { 'recipe-database': { cpu: '500m', memory: '768Mi' }, 'postgres-exporter': { cpu: '2m', memory: '16Mi' } });
    kube.setPod(NS, pod, { restarts: 1 });
    bot.slack.reset();
    await bot.client.command('status');
    const text = textOf(await bot.slack.waitFor('chat.postMessage', undefined, 10_000));
    expect(text).toContain(`⚠️ WARN — pod ${pod} restarted 1 time`);
    expect(text).toContain(`${pod} · Running · ready 2/2 · 1 restart`);
    expect(text).toContain('recipe-database: CPU 500m (200% of 250m request, 50% of 1 core limit) · memory 768Mi (150% of 512Mi request, 75% of 1Gi limit)');
    expect(text).toContain('PostgreSQL: up · PostgreSQL 15');
    expect(text).toContain(`Service recipe-database-service: ready 10.244.`);
    expect(kube.forbidden).toEqual([]);
  });

  it('still answers within its budget when the Kubernetes API hangs', async () => {
    kube.hang('/api');
    kube.hang('/apis');
    try {
      bot.slack.reset();
      const started = Date.now();
      await bot.client.command('status');
      const posted = await bot.slack.waitFor('chat.postMessage', undefined, 10_000);
      const elapsed = Date.now() - started;
      const text = textOf(posted);
      expect(elapsed).toBeLessThan(4_000);
      expect(text).toContain('PostgreSQL: up · PostgreSQL 15');
      expect(text).toMatch(/Connections: \d+ \/ \d+/);
      expect(text.split('\n').filter((l) => l.includes('Kubernetes'))).toEqual(['Kubernetes: unavailable — Kubernetes did not answer within 2.0s']);
    } finally {
      kube.hang(null);
    }
  });
});
