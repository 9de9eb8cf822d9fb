/**
 * The approval request message, in every state: pending (with the two buttons), decided, running,
 * done, expired. Rendered from the stored request alone, so any replica can redraw it.
 */
import type { ApprovalRequest } from '../../state/approvals.js';
import { outcomeOf, storedPlanOf } from '../../handlers/approval-engine.js';
import type { ActionOutcome } from '../../handlers/gated.js';
import type { types as slack } from '@slack/bolt';
import { actions, button, codeBlock, codeLines, mrkdwnText, context, header, message, section, sectionFields, type Block, type Message } from '../blocks.js';
import { formatTime } from '../../format.js';
import { APPROVE_ACTION, REJECT_ACTION } from '../slack-surface.js';
import { procedureReportLines } from './procedure-report-view.js';
import { cancelButton } from './cancel-button.js';

export interface ApprovalViewOptions {
  approvers: readonly string[];
  /** Shown while the approved action runs. */
  progress?: string;
  /** The action ran but the state database did not take its outcome yet (the engine retries). */
  unrecordedOutcome?: ActionOutcome;
  /** A maintenance run in progress: its Cancel button. */
  cancelRun?: string;
}

const STATUS_LINE: Record<Exclude<ApprovalRequest['status'], 'pending'>, string> = {
  approved: ':white_check_mark: *Approved*',
  rejected: ':x: *Rejected*',
  cancelled: ':heavy_minus_sign: *Cancelled by the requester*',
  expired: ':hourglass: *Expired* — nobody decided in time; nothing was done',
};

export function approvalView(request: ApprovalRequest, options: ApprovalViewOptions): Message {
  const { targets } = storedPlanOf(request);
  const blocks: Block[] = [
    header(`${request.status === 'pending' ? 'Approval needed' : 'Approval request'}: ${request.action}`),
    section(`*${mrkdwnText(capitalize(request.summary))}*`),
    ...sectionFields([
      `*Requested by*\n<@${request.requester}>`,
      `*Requested at*\n${formatTime(request.createdAt)}`,
      `*Expires*\n${formatTime(request.expiresAt)}`,
      `*Request*\n\`${request.id}\` · plan \`${request.planHash.slice(0, 12)}\``,
    ]),
    // All that fit, then how many more: the approver must know the list is longer than it looks.
    section(`*Targets (${targets.length})*\n${codeLines(targets, 2_900, (n) => `+${n} more (every target is in the stored plan, request ${request.id})`)}`),
  ];
  if (request.status === 'pending') {
    blocks.push(
      approvalButtons(request),
      context([`Approvers: ${options.approvers.map((u) => `<@${u}>`).join(', ')}. Nobody approves their own request; the requester may reject it to cancel.`]),
    );
    return message(`Approval needed: ${request.summary} (requested by @${request.requester})`, blocks);
  }
  blocks.push(section(decisionLine(request)));
  const outcome = outcomeOf(request);
  const unrecorded = outcome ? undefined : options.unrecordedOutcome;
  if (outcome) {
    blocks.push(section(`${outcome.ok ? ':white_check_mark:' : ':x:'} *Outcome:* ${mrkdwnText(outcome.summary)}`), ...outcomeLines(outcome));
  } else if (unrecorded) {
    blocks.push(
      section(`:warning: *Ran; outcome not recorded:* the state database did not take it, so the bot keeps trying. What is known: ${mrkdwnText(unrecorded.summary)}`),
      ...outcomeLines(unrecorded),
    );
  } else if (request.status === 'approved') {
    blocks.push(section(`:hourglass_flowing_sand: ${mrkdwnText(options.progress ?? 'Running…')}`));
    if (options.cancelRun) {
      blocks.push(
        actions(`maintenance:${options.cancelRun}`, [cancelButton(options.cancelRun)]),
        context([`<@${request.requester}> or an approver may cancel it.`]),
      );
    }
  }
  const said = outcome ? ` — ${outcome.summary}` : unrecorded ? ` — ran; outcome not recorded: ${unrecorded.summary}` : '';
  return message(`${request.summary}: ${request.status}${said}`, blocks);
}

function outcomeLines(outcome: ActionOutcome): Block[] {
  const lines = outcome.report ? procedureReportLines(outcome.report) : outcome.lines;
  return lines.length ? [section(codeBlock(lines.join('\n'), 2_900))] : [];
}

/** Approve and Reject for a pending request: on its message, and in the App Home. */
export function approvalButtons(request: ApprovalRequest): slack.ActionsBlock {
  return actions(`approval:${request.id}`, [
    button({
      text: 'Approve',
      actionId: APPROVE_ACTION,
      value: request.id,
      style: 'primary',
      confirm: { title: `Approve: ${request.action}?`, text: `This will ${request.summary}.`, confirm: 'Approve', deny: 'Back' },
    }),
    button({ text: 'Reject', actionId: REJECT_ACTION, value: request.id, style: 'danger' }),
  ]);
}

function decisionLine(request: ApprovalRequest): string {
  if (request.status === 'pending') return '';
  const when = request.decidedAt ? ` at ${formatTime(request.decidedAt)}` : '';
  if (request.status === 'expired') return `${STATUS_LINE.expired}${when}`;
  return `${STATUS_LINE[request.status]} by <@${request.decidedBy ?? 'unknown'}>${when}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
