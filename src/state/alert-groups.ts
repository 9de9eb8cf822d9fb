/**
 * Alert groups in the state database: one row per group episode (first firing notification to
 * resolution), holding the latest notification, the Slack message that shows it and what people
 * did about it (a silence, an incident). Every replica finds a group by its groupKey here, so
 * notifications reaching any replica edit the same message.
 *
 *   const { change, group } = await storeAlertNotification(pool, { notification, channel: 'C_ALERTS' });
 *   const claimed = await claimAlertGroupDrawing(pool, group.id, { by: instance, replicaTimeoutMs });
 *
 * Storing is one transaction on the group's row (FOR UPDATE), so of several replicas receiving
 * the same notification at once, one stores it as new and the others see a repeat. Drawing the
 * message is claimed the same way: one replica draws, and keeps drawing until the message shows
 * the latest version.
 */
import type pg from 'pg';
import { compareNotifications, notificationDigest, type NotificationChange } from '../ops/alertmanager/notification-changes.js';
import type { AlertNotification } from '../ops/alertmanager/webhook-payload.js';
import { replicaGone } from './replicas.js';

export interface AlertSilence {
  id: string;
  /** Slack user ID of who silenced it. */
  by: string;
  until: Date;
}

/**
 * What mutes a group in Alertmanager besides the bot's own silence: a silence made elsewhere (the
 * UI, amtool), as Alertmanager holds it (null fields when it could not be read), or an inhibition,
 * named by the inhibiting alert's alertname when Alertmanager still lists it.
 */
export type AlertMute =
  | { kind: 'silence'; id: string; createdBy: string | null; comment: string | null; endsAt: string | null }
  | { kind: 'inhibition'; by: string | null };

export interface AlertGroup {
  id: number;
  groupKey: string;
  current: boolean;
  channel: string;
  status: 'firing' | 'resolved';
  notification: AlertNotification;
  version: number;
  drawnVersion: number;
  messageTs: string | null;
  startedAt: Date;
  changedAt: Date;
  /** The last notification of any kind, repeats included. */
  heardAt: Date;
  resolvedAt: Date | null;
  silence: AlertSilence | null;
  /** What the bot last saw muting the group (other than its own silence); null: not muted when last seen. */
  muted: AlertMute[] | null;
  /** When the bot last saw Alertmanager list the group's alerts all suppressed, whatever by. */
  mutedSeenAt: Date | null;
  incidentId: number | null;
}

interface Row {
  id: string; group_key: string; current: boolean; channel: string; status: 'firing' | 'resolved'; notification: AlertNotification;
  version: number; drawn_version: number; message_ts: string | null; started_at: Date; changed_at: Date; heard_at: Date;
  resolved_at: Date | null; silence_id: string | null; silenced_by: string | null; silenced_until: Date | null; incident_id: string | null;
  muted: AlertMute[] | null; muted_seen_at: Date | null;
}

const groupFrom = (r: Row): AlertGroup => ({
  id: Number(r.id),
  groupKey: r.group_key,
  current: r.current,
  channel: r.channel,
  status: r.status,
  notification: r.notification,
  version: r.version,
  drawnVersion: r.drawn_version,
  messageTs: r.message_ts,
  startedAt: r.started_at,
  changedAt: r.changed_at,
  heardAt: r.heard_at,
  resolvedAt: r.resolved_at,
  silence: r.silence_id && r.silenced_by && r.silenced_until ? { id: r.silence_id, by: r.silenced_by, until: r.silenced_until } : null,
  muted: r.muted,
  mutedSeenAt: r.muted_seen_at,
  incidentId: r.incident_id === null ? null : Number(r.incident_id),
});

export interface StoredNotification {
  change: NotificationChange;
  group: AlertGroup;
}

/** When a resolved notification says the group stopped firing: its latest endsAt. */
function resolvedAtOf(notification: AlertNotification): Date | null {
  if (notification.status !== 'resolved') return null;
  const ends = notification.alerts.map((a) => (a.endsAt ? Date.parse(a.endsAt) : NaN)).filter(Number.isFinite);
  return ends.length ? new Date(Math.max(...ends)) : new Date();
}

export async function storeAlertNotification(
  pool: pg.Pool,
  input: { notification: AlertNotification; channel: string },
): Promise<StoredNotification> {
  const { notification, channel } = input;
  const digest = notificationDigest(notification);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const current = async () =>
      (await client.query<Row>('SELECT * FROM alert_groups WHERE group_key = $1 AND current FOR UPDATE', [notification.groupKey])).rows[0];
    const insert = async () =>
      (
        await client.query<Row>(
          `INSERT INTO alert_groups (group_key, channel, status, notification, digest, resolved_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (group_key) WHERE current DO NOTHING
           RETURNING *`,
          [notification.groupKey, channel, notification.status, JSON.stringify(notification), digest, resolvedAtOf(notification)],
        )
      ).rows[0];
    let previous = await current();
    if (!previous) {
      const inserted = await insert();
      if (inserted) {
        await client.query('COMMIT');
        return { change: compareNotifications(null, notification), group: groupFrom(inserted) };
      }
      // Another replica inserted it first (its transaction committed while ours waited).
      previous = await current();
      if (!previous) throw new Error('the alert group vanished while it was being stored');
    }
    const change = compareNotifications(previous.notification, notification);
    let row: Row | undefined;
    if (change.kind === 'repeat' || change.kind === 'stale') {
      row = (await client.query<Row>('UPDATE alert_groups SET heard_at = now() WHERE id = $1 RETURNING *', [previous.id])).rows[0];
    } else if (change.kind === 'new') {
      await client.query('UPDATE alert_groups SET current = false WHERE id = $1', [previous.id]);
      row = await insert();
    } else {
      row = (
        await client.query<Row>(
          `UPDATE alert_groups
              SET notification = $2, digest = $3, status = $4, resolved_at = $5, version = version + 1, changed_at = now(), heard_at = now()
            WHERE id = $1 RETURNING *`,
          [previous.id, JSON.stringify(notification), digest, notification.status, resolvedAtOf(notification)],
        )
      ).rows[0];
    }
    if (!row) throw new Error('the alert group could not be stored');
    await client.query('COMMIT');
    return { change, group: groupFrom(row) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function findAlertGroup(pool: pg.Pool, id: number): Promise<AlertGroup | null> {
  const { rows } = await pool.query<Row>('SELECT * FROM alert_groups WHERE id = $1', [id]);
  return rows[0] ? groupFrom(rows[0]) : null;
}

export async function findCurrentAlertGroup(pool: pg.Pool, groupKey: string): Promise<AlertGroup | null> {
  const { rows } = await pool.query<Row>('SELECT * FROM alert_groups WHERE group_key = $1 AND current', [groupKey]);
  return rows[0] ? groupFrom(rows[0]) : null;
}

/** The current episodes still firing, newest change first. */
export async function listFiringAlertGroups(pool: pg.Pool): Promise<AlertGroup[]> {
  const { rows } = await pool.query<Row>(`SELECT * FROM alert_groups WHERE current AND status = 'firing' ORDER BY changed_at DESC`);
  return rows.map(groupFrom);
}

// A drawing claim older than this is free whoever holds it: a Slack call that hung.
const DRAWING_CLAIM_SECONDS = 120;

/** SQL: nobody alive holds the drawing claim, or `byParam` does. */
const claimFree = (byParam: string, timeoutSecondsParam: string) =>
  `(drawing_by IS NULL OR drawing_by = ${byParam} OR drawing_at < now() - interval '${DRAWING_CLAIM_SECONDS} seconds'
    OR ${replicaGone('drawing_by', timeoutSecondsParam)})`;

/** Claims drawing the group's message when it is behind; null when it is up to date or another replica draws it. */
export async function claimAlertGroupDrawing(pool: pg.Pool, id: number, claim: { by: string; replicaTimeoutMs: number }): Promise<AlertGroup | null> {
  const { rows } = await pool.query<Row>(
    `UPDATE alert_groups SET drawing_by = $2, drawing_at = now()
      WHERE id = $1 AND drawn_version < version AND ${claimFree('$2', '$3')}
      RETURNING *`,
    [id, claim.by, claim.replicaTimeoutMs / 1000],
  );
  return rows[0] ? groupFrom(rows[0]) : null;
}

/**
 * Records that `version` is drawn (and where the message is). Keeps the claim and returns the
 * group when a newer version arrived meanwhile, so the same replica draws again; else null.
 */
export async function finishAlertGroupDrawing(
  pool: pg.Pool,
  id: number,
  drawn: { by: string; version: number; messageTs: string },
): Promise<AlertGroup | null> {
  const { rows } = await pool.query<Row>(
    `UPDATE alert_groups
        SET drawn_version = greatest(drawn_version, $3), message_ts = coalesce(message_ts, $4),
            drawing_by = CASE WHEN version > $3 THEN drawing_by END,
            drawing_at = CASE WHEN version > $3 THEN now() END
      WHERE id = $1 AND drawing_by = $2
      RETURNING *`,
    [id, drawn.by, drawn.version, drawn.messageTs],
  );
  const row = rows[0];
  return row && row.drawn_version < row.version ? groupFrom(row) : null;
}

/** Gives the claim back after a failed draw, so that the next attempt (of any replica) may draw. */
export async function releaseAlertGroupDrawing(pool: pg.Pool, id: number, by: string): Promise<void> {
  await pool.query('UPDATE alert_groups SET drawing_by = NULL, drawing_at = NULL WHERE id = $1 AND drawing_by = $2', [id, by]);
}

/** Groups whose message is behind and that nobody (alive) is drawing: a failed draw, a replica that died. */
export async function listAlertGroupsToDraw(pool: pg.Pool, options: { by: string; replicaTimeoutMs: number; changedBeforeMs: number }): Promise<number[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM alert_groups
      WHERE drawn_version < version AND changed_at < now() - make_interval(secs => $3::float8) AND ${claimFree('$1', '$2')}
      ORDER BY id LIMIT 50`,
    [options.by, options.replicaTimeoutMs / 1000, options.changedBeforeMs / 1000],
  );
  return rows.map((r) => Number(r.id));
}

// A silence being created for longer than this was abandoned (its replica died mid-request).
const SILENCING_CLAIM_SECONDS = 60;

/** Claims creating a silence for the group, unless it has a live silence or one is being created. */
export async function claimAlertSilencing(pool: pg.Pool, id: number, by: string): Promise<AlertGroup | null> {
  const { rows } = await pool.query<Row>(
    `UPDATE alert_groups SET silencing_by = $2, silencing_at = now()
      WHERE id = $1 AND (silence_id IS NULL OR silenced_until <= now())
        AND (silencing_at IS NULL OR silencing_at < now() - interval '${SILENCING_CLAIM_SECONDS} seconds')
      RETURNING *`,
    [id, by],
  );
  return rows[0] ? groupFrom(rows[0]) : null;
}

export async function releaseAlertSilencing(pool: pg.Pool, id: number, by: string): Promise<void> {
  await pool.query('UPDATE alert_groups SET silencing_by = NULL, silencing_at = NULL WHERE id = $1 AND silencing_by = $2', [id, by]);
}

/** Stores the silence Alertmanager created (and frees the claim); the message is redrawn. */
export async function setAlertSilence(pool: pg.Pool, id: number, silence: AlertSilence): Promise<AlertGroup | null> {
  const { rows } = await pool.query<Row>(
    `UPDATE alert_groups
        SET silence_id = $2, silenced_by = $3, silenced_until = $4, silencing_by = NULL, silencing_at = NULL, version = version + 1
      WHERE id = $1 RETURNING *`,
    [id, silence.id, silence.by, silence.until],
  );
  return rows[0] ? groupFrom(rows[0]) : null;
}

/** Forgets the silence (once: null when it was already forgotten); the message is redrawn. */
export async function clearAlertSilence(pool: pg.Pool, id: number, silenceId: string): Promise<AlertGroup | null> {
  const { rows } = await pool.query<Row>(
    `UPDATE alert_groups SET silence_id = NULL, silenced_by = NULL, silenced_until = NULL, version = version + 1
      WHERE id = $1 AND silence_id = $2 RETURNING *`,
    [id, silenceId],
  );
  return rows[0] ? groupFrom(rows[0]) : null;
}

/**
 * Stores what mutes the firing group now (null: nothing), redrawing its message only when that
 * changed, so replicas looking at once change it once. Returns the group when it changed.
 */
export async function setAlertGroupMuted(pool: pg.Pool, id: number, muted: AlertMute[] | null): Promise<AlertGroup | null> {
  const { rows } = await pool.query<Row>(
    `UPDATE alert_groups SET muted = $2::jsonb, version = version + 1
      WHERE id = $1 AND current AND status = 'firing' AND muted IS DISTINCT FROM $2::jsonb RETURNING *`,
    [id, muted === null ? null : JSON.stringify(muted)],
  );
  return rows[0] ? groupFrom(rows[0]) : null;
}

/**
 * Notes that Alertmanager lists these groups' alerts all suppressed now, for those last noted
 * before `startedAt` (when the answering Alertmanager started): one write per group and
 * Alertmanager process, not one per look.
 */
export async function noteAlertGroupsSeenMuted(pool: pg.Pool, ids: number[], startedAt: Date): Promise<void> {
  if (ids.length === 0) return;
  await pool.query(
    `UPDATE alert_groups SET muted_seen_at = now()
      WHERE id = ANY($1::bigint[]) AND (muted_seen_at IS NULL OR muted_seen_at < $2)`,
    [ids, startedAt],
  );
}

/** Links the incident started from the group's message (once); the message is redrawn. */
export async function linkAlertIncident(pool: pg.Pool, id: number, incidentId: number): Promise<AlertGroup | null> {
  const { rows } = await pool.query<Row>(
    'UPDATE alert_groups SET incident_id = $2, version = version + 1 WHERE id = $1 AND incident_id IS NULL RETURNING *',
    [id, incidentId],
  );
  return rows[0] ? groupFrom(rows[0]) : null;
}
