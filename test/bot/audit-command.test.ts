/** `audit`: newest first, and `audit 1` is the latest thing that happened, not the `audit` line itself. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dispatchCommand } from '../../src/bot/dispatch.js';
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { decide, requestApproval } from '../../src/handlers/approval-engine.js';
import { GATED_ACTIONS } from '../../src/handlers/gated-actions.js';
import { planned } from '../../src/handlers/gated.js';
import { openTestServices, type TestServices } from '../support/services.js';

let services: TestServices;

beforeAll(async () => {
  services = await openTestServices({ env: { APPROVERS: 'U_BOB' } });
});
afterAll(async () => {
  await services.close();
});

it('shows the rejection just made as the newest entry', async () => {
  await dispatchCommand('status', { userId: 'U_ALICE', channelId: 'C_OPS' }, services);
  const request = await requestApproval(services, { userId: 'U_ALICE', channelId: 'C_OPS' }, planned('scale', 'scale default/recipe-app to 0', ['default/recipe-app: 3 → 0'], {}));
  await decide(services, GATED_ACTIONS, { id: request.id, userId: 'U_BOB', decision: 'reject' }, async () => undefined);

  const one = await dispatchCommand('audit 1', { userId: 'U_CAROL', channelId: 'C_OPS' }, services);
  const seen = renderBlocks(one.message, { width: 300 }).text;
  expect(seen).toContain('approval.rejected');
  expect(seen).toContain('@U_BOB');
  expect(seen).not.toContain('/recipedb audit 1');

  const four = renderBlocks((await dispatchCommand('audit 4', { userId: 'U_CAROL', channelId: 'C_OPS' }, services)).message, { width: 300 }).text;
  // Newest first: the result of `audit 1` (and its line), the rejection, the request.
  const order = ['command.result', 'approval.rejected', 'approval.requested'].map((kind) => four.indexOf(kind));
  expect(order.every((i) => i >= 0)).toBe(true);
  expect(order).toEqual([...order].sort((a, b) => a - b));
  expect(four).toContain('Newest first.');
});
