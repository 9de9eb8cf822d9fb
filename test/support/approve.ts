/**
 * A gated command carried through the approval engine as the console does it: the request is
 * "posted", an approver decides, and what the request's message showed while it ran is kept.
 *
 *   const run = await requestAndApprove(services, 'vacuum full recipe_manager.recipes');
 *   run.outcome // 'Outcome: VACUUM FULL of 1 table: done in 1.2s …' as the message renders it
 */
import { renderBlocks } from '../../src/bot/blocks-to-text.js';
import { dispatchCommand, type Reply } from '../../src/bot/dispatch.js';
import { approvalView } from '../../src/bot/views/approval-view.js';
import { decide } from '../../src/handlers/approval-engine.js';
import { GATED_ACTIONS } from '../../src/handlers/gated-actions.js';
import type { Services } from '../../src/context.js';

export interface ApprovedRun {
  request: Reply & { seen: string };
  /** The request's message after the outcome, as text. */
  outcome: string;
  /** Every progress line the request's message showed, with the run id of its Cancel button if any. */
  progress: { text: string; cancelRun?: string }[];
}

export async function requestOnly(services: Services, text: string, requester = 'U_ALICE'): Promise<Reply & { seen: string; requestId?: string }> {
  const reply = await dispatchCommand(text, { userId: requester, channelId: 'C_OPS' }, services);
  const rendered = renderBlocks(reply.message, { width: 400 });
  await reply.posted?.(`test.${Date.now()}`);
  return { ...reply, seen: rendered.text, requestId: rendered.choices.find((c) => c.actionId === 'approval_approve')?.value };
}

export async function requestAndApprove(
  services: Services,
  text: string,
  options: { requester?: string; approver?: string; onProgress?: (text: string, cancelRun?: string) => void } = {},
): Promise<ApprovedRun> {
  const request = await requestOnly(services, text, options.requester);
  if (!request.requestId) throw new Error(`no approval request for "${text}":\n${request.seen}`);
  const progress: ApprovedRun['progress'] = [];
  const result = await decide(services, GATED_ACTIONS, { id: request.requestId, userId: options.approver ?? 'U_BOB', decision: 'approve' }, async (_r, update) => {
    const text = update?.progress;
    if (text === undefined) return;
    progress.push({ text, cancelRun: update?.cancelRun });
    options.onProgress?.(text, update?.cancelRun);
  });
  if (result.kind !== 'decided') throw new Error(`could not approve: ${result.reason}`);
  const outcome = renderBlocks(approvalView(result.request, { approvers: services.config.approvers }), { width: 400 }).text;
  return { request, outcome, progress };
}
