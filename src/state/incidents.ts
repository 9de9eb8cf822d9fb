/**
 * Incidents and their timeline events in the state database. At most one open incident per
 * channel (a unique index); timeline events are appended in order and, when they come from a
 * Slack message, de-duplicated by a source key.
 *
 *   const opened = await openIncident(pool, { channel: 'C1', title: 'db slow', severity: 'sev2', declaredBy: 'U1' });
 *   const event = await addIncidentEvent(pool, { incidentId, actor: 'U1', kind: 'note', text: 'restarted pgbouncer' });
 */
import type pg from 'pg';
import { replicaGone } from './replicas.js';

export const SEVERITIES = ['sev1', 'sev2', 'sev3', 'sev4'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Incident {
  id: number;
  channel: string;
  title: string;
  severity: Severity;
  status: 'open' | 'resolved';
  declaredBy: string;
  commander: string;
  rootTs: string | null;
  impact: string | null;
  rootCause: string | null;
  resolution: string | null;
  prevention: string | null;
  startedAt: Date;
  resolvedAt: Date | null;
}

export interface IncidentEvent {
  id: number;
  incidentId: number;
  at: Date;
  actor: string;
  kind: string;
  text: string;
  details: Record<string, unknown>;
  sourceKey: string | null;
  threadTs: string | null;
}

interface IncidentRow {
  id: string; channel: string; title: string; severity: Severity; status: 'open' | 'resolved'; declared_by: string;
  commander: string; root_ts: string | null; impact: string | null; root_cause: string | null; resolution: string | null;
  prevention: string | null; started_at: Date; resolved_at: Date | null;
}

interface EventRow {
  id: string; incident_id: string; at: Date; actor: string; kind: string; text: string; details: Record<string, unknown>;
  source_key: string | null; thread_ts: string | null;
}

const incidentFrom = (r: IncidentRow): Incident => ({
  id: Number(r.id), channel: r.channel, title: r.title, severity: r.severity, status: r.status, declaredBy: r.declared_by,
  commander: r.commander, rootTs: r.root_ts, impact: r.impact, rootCause: r.root_cause, resolution: r.resolution,
  prevention: r.prevention, startedAt: r.started_at, resolvedAt: r.resolved_at,
});

const eventFrom = (r: EventRow): IncidentEvent => ({
  id: Number(r.id), incidentId: Number(r.incident_id), at: r.at, actor: r.actor, kind: r.kind, text: r.text,
  details: r.details, sourceKey: r.source_key, threadTs: r.thread_ts,
});

/** Opens an incident, or returns the channel's open one (`existing: true`) without changing it. */
export async function openIncident(
  pool: pg.Pool,
  input: { channel: string; title: string; severity: Severity; declaredBy: string },
): Promise<{ incident: Incident; existing: boolean }> {
  const { rows } = await pool.query<IncidentRow>(
    `INSERT INTO incidents (channel, title, severity, declared_by, commander)
     VALUES ($1, $2, $3, $4, $4)
     ON CONFLICT (channel) WHERE status = 'open' DO NOTHING
     RETURNING *`,
    [input.channel, input.title, input.severity, input.declaredBy],
  );
  if (rows[0]) return { incident: incidentFrom(rows[0]), existing: false };
  const open = await findOpenIncident(pool, input.channel);
  if (!open) throw new Error('the incident could not be opened; try again');
  return { incident: open, existing: true };
}

export async function findOpenIncident(pool: pg.Pool, channel: string): Promise<Incident | null> {
  const { rows } = await pool.query<IncidentRow>(`SELECT * FROM incidents WHERE channel = $1 AND status = 'open'`, [channel]);
  return rows[0] ? incidentFrom(rows[0]) : null;
}

export async function findIncident(pool: pg.Pool, id: number): Promise<Incident | null> {
  const { rows } = await pool.query<IncidentRow>('SELECT * FROM incidents WHERE id = $1', [id]);
  return rows[0] ? incidentFrom(rows[0]) : null;
}

export async function setIncidentRoot(pool: pg.Pool, id: number, rootTs: string): Promise<void> {
  await pool.query('UPDATE incidents SET root_ts = $2 WHERE id = $1 AND root_ts IS NULL', [id, rootTs]);
}

export type IncidentField = 'severity' | 'commander' | 'impact' | 'root_cause' | 'resolution' | 'prevention';

/** Sets one field of an open incident; the column name comes from the fixed list above, never from input. */
export async function updateIncident(pool: pg.Pool, id: number, field: IncidentField, value: string): Promise<Incident | null> {
  const column = { severity: 'severity', commander: 'commander', impact: 'impact', root_cause: 'root_cause', resolution: 'resolution', prevention: 'prevention' }[field];
  const { rows } = await pool.query<IncidentRow>(`UPDATE incidents SET ${column} = $2 WHERE id = $1 AND status = 'open' RETURNING *`, [id, value]);
  return rows[0] ? incidentFrom(rows[0]) : null;
}

/** Closes an open incident once (null if it was already resolved). */
export async function resolveIncident(pool: pg.Pool, id: number, resolution: string | null): Promise<Incident | null> {
  const { rows } = await pool.query<IncidentRow>(
    `UPDATE incidents SET status = 'resolved', resolved_at = now(), resolution = coalesce($2, resolution)
      WHERE id = $1 AND status = 'open' RETURNING *`,
    [id, resolution],
  );
  return rows[0] ? incidentFrom(rows[0]) : null;
}

/** Appends an event; null when an event with the same source key is already in the timeline. */
export async function addIncidentEvent(
  pool: pg.Pool,
  input: { incidentId: number; actor: string; kind: string; text: string; details?: Record<string, unknown>; sourceKey?: string; at?: Date },
): Promise<IncidentEvent | null> {
  const { rows } = await pool.query<EventRow>(
    `INSERT INTO incident_events (incident_id, actor, kind, text, details, source_key, at)
     VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, now()))
     ON CONFLICT (incident_id, source_key) DO NOTHING
     RETURNING *`,
    [input.incidentId, input.actor, input.kind, input.text, JSON.stringify(input.details ?? {}), input.sourceKey ?? null, input.at ?? null],
  );
  return rows[0] ? eventFrom(rows[0]) : null;
}

export async function listIncidentEvents(pool: pg.Pool, incidentId: number): Promise<IncidentEvent[]> {
  const { rows } = await pool.query<EventRow>('SELECT * FROM incident_events WHERE incident_id = $1 ORDER BY id', [incidentId]);
  return rows.map(eventFrom);
}

/**
 * Claims the events not yet posted to the thread, oldest first, so that of several replicas only
 * one posts each event. The claim marker is replaced by the reply's ts once posted.
 */
export async function claimUnpostedEvents(pool: pg.Pool, incidentId: number, claim: { by: string; replicaTimeoutMs: number }): Promise<IncidentEvent[]> {
  // Also those claimed by a replica that died before posting them: at least once beats never.
  const { rows } = await pool.query<EventRow>(
    `UPDATE incident_events SET thread_ts = 'posting', claimed_by = $2
      WHERE id IN (SELECT id FROM incident_events e
                    WHERE incident_id = $1
                      AND (thread_ts IS NULL
                           OR (thread_ts = 'posting' AND claimed_by IS NOT NULL AND ${replicaGone('e.claimed_by', '$3')}))
                    ORDER BY id FOR UPDATE SKIP LOCKED)
      RETURNING *`,
    [incidentId, claim.by, claim.replicaTimeoutMs / 1000],
  );
  return rows.map(eventFrom).sort((a, b) => a.id - b.id);
}

export async function setEventThreadTs(pool: pg.Pool, eventId: number, threadTs: string | null): Promise<void> {
  await pool.query('UPDATE incident_events SET thread_ts = $2 WHERE id = $1', [eventId, threadTs]);
}

/** Every open incident, across channels, newest first. */
export async function listOpenIncidents(pool: pg.Pool): Promise<Incident[]> {
  const { rows } = await pool.query<IncidentRow>(`SELECT * FROM incidents WHERE status = 'open' ORDER BY started_at DESC`);
  return rows.map(incidentFrom);
}
