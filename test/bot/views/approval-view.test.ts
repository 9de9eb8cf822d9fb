/** The approval request's targets: every one that fits, then how many more, never a silent cut. */
import { describe, expect, it } from 'vitest';
import { LIMITS, type Block } from '../../../src/bot/blocks.js';
import { approvalView } from '../../../src/bot/views/approval-view.js';
import type { ApprovalRequest } from '../../../src/state/approvals.js';

function requestWith(targets: string[]): ApprovalRequest {
  const now = new Date('2026-12-01T03:00:00Z');
  return {
    id: 'apr_many', action: 'kill', summary: `terminate ${targets.length} backends running longer than 10m`, planHash: 'cd'.repeat(32),
    plan: { targets, plan: {} }, requester: 'U_ALICE', channel: 'C_OPS', messageTs: null, status: 'pending', createdAt: now,
    expiresAt: now, decidedBy: null, decidedAt: null, executedAt: null, outcome: null,
  };
}

const target = (i: number): string => `pid ${1000 + i} · recipe_api · recipe-app · active 12m · SELECT * FROM recipe_manager.recipes WHERE id = ${i} FOR UPDATE`;

function targetsBlock(blocks: Block[]): string {
  const found = blocks.find((b) => b.type === 'section' && b.text?.text.startsWith('*Targets'));
  if (!found || found.type !== 'section' || !found.text) throw new Error('no targets section');
  return found.text.text;
}

describe('approval request targets', () => {
  it('shows all that fit, then "+N more"', () => {
    const targets = Array.from({ length: 100 }, (_, i) => target(i));
    const { blocks } = approvalView(requestWith(targets), { approvers: ['U_BOB'] });
    const text = targetsBlock(blocks);
    expect(text.startsWith('*Targets (100)*')).toBe(true);
    const shown = targets.filter((t) => text.includes(t));
    expect(shown.length).toBeGreaterThan(10);
    expect(shown).toEqual(targets.slice(0, shown.length));
    expect(text).toContain(`+${100 - shown.length} more (every target is in the stored plan, request apr_many)`);
    // Whole lines only: the first target not shown is not there in part either.
    expect(text).not.toContain(`pid ${1000 + shown.length} `);
    expect(text.length).toBeLessThanOrEqual(LIMITS.sectionText);
  });

  it('shows every target and no "more" when they fit', () => {
    const targets = Array.from({ length: 5 }, (_, i) => target(i));
    const text = targetsBlock(approvalView(requestWith(targets), { approvers: ['U_BOB'] }).blocks);
    for (const t of targets) expect(text).toContain(t);
    expect(text).not.toContain('more');
  });
});
