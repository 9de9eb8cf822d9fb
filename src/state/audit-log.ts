/**
 * The append-only audit log: every command, request, decision and outcome, in order.
 *
 *   await appendAudit(pool, { actor: 'U1', channel: 'C1', kind: 'command', action: 'status', summary: '/recipedb status' });
 *   const last = await readAudit(pool, 20);
 */
import type pg from 'pg';

export type AuditKind =
  | 'command'
  | 'command.failed'
  | 'command.result'
  | 'approval.requested'
  | 'approval.approved'
  | 'approval.rejected'
  | 'approval.cancelled'
  | 'approval.expired'
  | 'action.executed'
  | 'action.failed'
  | 'action.interrupted'
  | 'procedure.step'
  /** What a dead replica's action left undone, finished by another (an application scaled back). */
  | 'action.recovered'
  | 'backup'
  | 'maintenance'
  | 'incident'
  | 'note'
  | 'alert.firing'
  | 'alert.resolved'
  | 'alert.silenced'
  | 'alert.unsilenced';

export interface AuditEntry {
  actor: string;
  channel?: string;
  kind: AuditKind;
  action: string;
  summary: string;
  details?: Record<string, unknown>;
  requestId?: string;
}

export interface AuditRecord extends AuditEntry {
  id: number;
  at: Date;
}

export async function appendAudit(pool: pg.Pool, entry: AuditEntry): Promise<AuditRecord> {
  const { rows } = await pool.query<{ id: string; at: Date }>(
    `INSERT INTO audit_log (actor, channel, kind, action, summary, details, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, at`,
    [entry.actor, entry.channel ?? null, entry.kind, entry.action, entry.summary, JSON.stringify(entry.details ?? {}), entry.requestId ?? null],
  );
  const row = rows[0];
  if (!row) throw new Error('the audit log did not return the new entry');
  return { ...entry, id: Number(row.id), at: row.at };
}

/** The newest `limit` entries (but `excludeId`), oldest first (so they read as a timeline). */
export async function readAudit(pool: pg.Pool, limit: number, requestId?: string, excludeId?: number): Promise<AuditRecord[]> {
  const { rows } = await pool.query<{
    id: string; at: Date; actor: string; channel: string | null; kind: AuditKind; action: string; summary: string;
    details: Record<string, unknown>; request_id: string | null;
  }>(
    `SELECT * FROM (
       SELECT id, at, actor, channel, kind, action, summary, details, request_id
         FROM audit_log
        WHERE ($2::text IS NULL OR request_id = $2) AND ($3::bigint IS NULL OR id <> $3)
        ORDER BY id DESC LIMIT $1
     ) newest ORDER BY id`,
    [limit, requestId ?? null, excludeId ?? null],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    at: r.at,
    actor: r.actor,
    channel: r.channel ?? undefined,
    kind: r.kind,
    action: r.action,
    summary: r.summary,
    details: r.details,
    requestId: r.request_id ?? undefined,
  }));
}
