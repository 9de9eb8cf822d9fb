/**
 * Approval requests in the state database. Every decision is one conditional UPDATE from
 * `pending`, so concurrent clicks, repeated clicks and several bot replicas decide (and so
 * execute) a request exactly once.
 *
 *   const request = await insertApproval(pool, { action: 'kill', … });
 *   const won = await decideApproval(pool, request.id, 'approved', 'U_BOB'); // null when someone else decided first
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { replicaGone } from './replicas.js';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'cancelled';

export interface ApprovalRequest {
  id: string;
  action: string;
  summary: string;
  plan: unknown;
  planHash: string;
  requester: string;
  channel: string;
  messageTs: string | null;
  status: ApprovalStatus;
  createdAt: Date;
  expiresAt: Date;
  decidedBy: string | null;
  decidedAt: Date | null;
  executedAt: Date | null;
  outcome: unknown;
}

interface Row {
  id: string; action: string; summary: string; plan: unknown; plan_hash: string; requester: string; channel: string;
  message_ts: string | null; status: ApprovalStatus; created_at: Date; expires_at: Date; decided_by: string | null;
  decided_at: Date | null; executed_at: Date | null; outcome: unknown;
}

const fromRow = (r: Row): ApprovalRequest => ({
  id: r.id, action: r.action, summary: r.summary, plan: r.plan, planHash: r.plan_hash, requester: r.requester,
  channel: r.channel, messageTs: r.message_ts, status: r.status, createdAt: r.created_at, expiresAt: r.expires_at,
  decidedBy: r.decided_by, decidedAt: r.decided_at, executedAt: r.executed_at, outcome: r.outcome,
});

/**
 * A stable keyed hash (HMAC-SHA256) of what will be done: key order does not matter, any change of
 * target does, and without the key (config.planKey, kept out of the state database) nobody who
 * can write the state database can make an edited plan match.
 */
export function planHash(key: Buffer, action: string, plan: unknown): string {
  return createHmac('sha256', key).update(canonicalJson({ action, plan })).digest('hex');
}

/** Whether the stored plan is still the one that was hashed when it was requested. */
export function planMatches(key: Buffer, request: Pick<ApprovalRequest, 'action' | 'plan' | 'planHash'>): boolean {
  const expected = Buffer.from(planHash(key, request.action, request.plan), 'hex');
  const stored = Buffer.from(request.planHash, 'hex');
  return stored.length === expected.length && timingSafeEqual(stored, expected);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface NewApproval {
  action: string;
  summary: string;
  plan: unknown;
  planKey: Buffer;
  requester: string;
  channel: string;
  ttlMs: number;
}

export async function insertApproval(pool: pg.Pool, request: NewApproval): Promise<ApprovalRequest> {
  const id = `apr_${randomBytes(6).toString('hex')}`;
  const { rows } = await pool.query<Row>(
    `INSERT INTO approval_requests (id, action, summary, plan, plan_hash, requester, channel, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8 * interval '1 millisecond')
     RETURNING *`,
    [id, request.action, request.summary, JSON.stringify(request.plan), planHash(request.planKey, request.action, request.plan), request.requester, request.channel, request.ttlMs],
  );
  return fromRow(rows[0] as Row);
}

export async function findApproval(pool: pg.Pool, id: string): Promise<ApprovalRequest | null> {
  const { rows } = await pool.query<Row>('SELECT * FROM approval_requests WHERE id = $1', [id]);
  return rows[0] ? fromRow(rows[0]) : null;
}

export async function setApprovalMessage(pool: pg.Pool, id: string, messageTs: string): Promise<void> {
  await pool.query('UPDATE approval_requests SET message_ts = $2 WHERE id = $1', [id, messageTs]);
}

/** The one transition out of `pending`; null when the request was already decided or has expired. */
export async function decideApproval(
  pool: pg.Pool,
  id: string,
  decision: 'approved' | 'rejected' | 'cancelled',
  decidedBy: string,
  /** The replica that will run an approved action: if it dies, another reports the action interrupted. */
  executedBy?: string,
): Promise<ApprovalRequest | null> {
  const { rows } = await pool.query<Row>(
    `UPDATE approval_requests
        SET status = $2, decided_by = $3, decided_at = now(), executed_by = CASE WHEN $2 = 'approved' THEN $4 END
      WHERE id = $1 AND status = 'pending' AND expires_at > now()
      RETURNING *`,
    [id, decision, decidedBy, executedBy ?? null],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

/** Marks every overdue pending request expired; each is returned to exactly one caller. */
export async function expireDueApprovals(pool: pg.Pool): Promise<ApprovalRequest[]> {
  const { rows } = await pool.query<Row>(
    `UPDATE approval_requests
        SET status = 'expired', decided_at = now()
      WHERE status = 'pending' AND expires_at <= now()
      RETURNING *`,
  );
  return rows.map(fromRow);
}

/**
 * Approved actions whose replica stopped beating before it recorded an outcome: each gets `outcome`
 * (once, across replicas). The replica may still report the real outcome later, which then wins.
 */
export async function markInterruptedApprovals(pool: pg.Pool, replicaTimeoutMs: number, outcome: (executedBy: string) => unknown): Promise<ApprovalRequest[]> {
  const { rows: orphans } = await pool.query<{ id: string; executed_by: string }>(
    `SELECT id, executed_by FROM approval_requests a
      WHERE status = 'approved' AND executed_at IS NULL AND executed_by IS NOT NULL AND ${replicaGone('a.executed_by', '$1')}`,
    [replicaTimeoutMs / 1000],
  );
  const marked: ApprovalRequest[] = [];
  for (const orphan of orphans) {
    const { rows } = await pool.query<Row>(
      `UPDATE approval_requests SET executed_at = now(), outcome = $2
        WHERE id = $1 AND executed_at IS NULL RETURNING *`,
      [orphan.id, JSON.stringify(outcome(orphan.executed_by))],
    );
    if (rows[0]) marked.push(fromRow(rows[0]));
  }
  return marked;
}

export async function recordApprovalOutcome(pool: pg.Pool, id: string, outcome: unknown): Promise<ApprovalRequest> {
  const { rows } = await pool.query<Row>(
    `UPDATE approval_requests SET executed_at = now(), outcome = $2 WHERE id = $1 RETURNING *`,
    [id, JSON.stringify(outcome)],
  );
  return fromRow(rows[0] as Row);
}

/** Requests still waiting for a decision (not yet expired), oldest first: the App Home lists them. */
export async function listPendingApprovals(pool: pg.Pool, limit = 20): Promise<ApprovalRequest[]> {
  const { rows } = await pool.query<Row>(
    `SELECT * FROM approval_requests WHERE status = 'pending' AND expires_at > now() ORDER BY created_at LIMIT $1`,
    [limit],
  );
  return rows.map(fromRow);
}
