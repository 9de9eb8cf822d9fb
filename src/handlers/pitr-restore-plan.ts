/** What an approved point-in-time restore carries: the moment, the base backup and timeline it was planned with, and what it stops. */
import { z } from 'zod';

const lsn = z.string().regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i);

export const pitrRestorePlan = z.object({
  target: z.object({
    /** `2026-12-03 12:10:23.555+00`, as pgBackRest and PostgreSQL take it. */
    pg: z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00$/),
    iso: z.string().min(1),
    epochMs: z.number().int(),
  }),
  /** As the requester typed it ("10m ago"). */
  typed: z.string().max(200),
  backup: z.object({
    label: z.string().regex(/^\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?$/),
    type: z.enum(['full', 'diff', 'incr']),
    stoppedAt: z.string().min(1),
    startWal: z.string().regex(/^[0-9A-F]{24}$/i),
    stopLsn: lsn,
    timeline: z.number().int().min(1),
  }),
  /** Recovery follows this timeline's history (the database's own, unless --timeline said otherwise). */
  timeline: z.number().int().min(1),
  /** The timeline the database was on when the restore was planned: if it moved, the plan is stale. */
  fromTimeline: z.number().int().min(1),
  app: z.object({ namespace: z.string().min(1), deployment: z.string().min(1) }),
  database: z.object({ namespace: z.string().min(1), deployment: z.string().min(1) }),
});
export type PitrRestorePlan = z.infer<typeof pitrRestorePlan>;
