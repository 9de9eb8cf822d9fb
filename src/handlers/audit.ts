/**
 * `audit [N]`: the last N entries of the append-only audit log (default 20, at most 100), newest
 * first; the `audit` line itself is left out, so `audit 1` is the latest thing that happened.
 */
import { z } from 'zod';
import { readAudit, type AuditRecord } from '../state/audit-log.js';
import { defineHandler } from './handler.js';

export interface AuditResult {
  measuredAt: Date;
  /** Newest first. */
  entries: AuditRecord[];
}

const auditArgs = z
  .object({
    positional: z.array(z.string()).max(1, 'takes at most one argument: N'),
    flags: z.record(z.string(), z.unknown()).refine((f) => Object.keys(f).length === 0, 'takes no options'),
  })
  .transform((raw, ctx) => {
    const text = raw.positional[0] ?? '20';
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1 || n > 100) {
      ctx.addIssue({ code: 'custom', message: 'N must be a whole number from 1 to 100' });
      return z.NEVER;
    }
    return { limit: n };
  });

export const auditHandler = defineHandler({
  name: 'audit',
  usage: 'audit [N]',
  summary: 'the last N entries of the audit log: commands, approvals, decisions and outcomes (default 20)',
  args: auditArgs,
  async run(args, ctx): Promise<AuditResult> {
    const entries = await readAudit(ctx.state, args.limit, undefined, ctx.commandRecordId);
    return { measuredAt: ctx.now(), entries: entries.reverse() };
  },
});
