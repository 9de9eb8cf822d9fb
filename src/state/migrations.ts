/**
 * The bot's own schema, as ordered migrations. Append new entries; never edit an applied one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'approvals, incidents, audit log',
    sql: `
      CREATE TABLE approval_requests (
        id            text PRIMARY KEY,
        action        text NOT NULL,
        summary       text NOT NULL,
        plan          jsonb NOT NULL,
        plan_hash     text NOT NULL,
        requester     text NOT NULL,
        channel       text NOT NULL,
        message_ts    text,
        status        text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'cancelled')),
        created_at    timestamptz NOT NULL DEFAULT now(),
        expires_at    timestamptz NOT NULL,
        decided_by    text,
        decided_at    timestamptz,
        executed_at   timestamptz,
        outcome       jsonb
      );
      CREATE INDEX approval_requests_pending_expiry ON approval_requests (expires_at) WHERE status = 'pending';

      CREATE TABLE incidents (
        id            bigserial PRIMARY KEY,
        channel       text NOT NULL,
        title         text NOT NULL,
        severity      text NOT NULL DEFAULT 'sev3' CHECK (severity IN ('sev1', 'sev2', 'sev3', 'sev4')),
        status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
        declared_by   text NOT NULL,
        commander     text NOT NULL,
        root_ts       text,
        impact        text,
        root_cause    text,
        resolution    text,
        prevention    text,
        started_at    timestamptz NOT NULL DEFAULT now(),
        resolved_at   timestamptz
      );
      -- One open incident per channel, enforced by the database so two replicas cannot both open one.
      CREATE UNIQUE INDEX incidents_one_open_per_channel ON incidents (channel) WHERE status = 'open';

      CREATE TABLE incident_events (
        id            bigserial PRIMARY KEY,
        incident_id   bigint NOT NULL REFERENCES incidents (id),
        at            timestamptz NOT NULL DEFAULT now(),
        actor         text NOT NULL,
        kind          text NOT NULL,
        text          text NOT NULL,
        details       jsonb NOT NULL DEFAULT '{}',
        -- Set for events taken from a Slack message (shortcut, reaction), so each is added once.
        source_key    text,
        thread_ts     text,
        UNIQUE (incident_id, source_key)
      );
      CREATE INDEX incident_events_by_incident ON incident_events (incident_id, id);

      CREATE TABLE audit_log (
        id            bigserial PRIMARY KEY,
        at            timestamptz NOT NULL DEFAULT now(),
        actor         text NOT NULL,
        channel       text,
        kind          text NOT NULL,
        action        text NOT NULL,
        summary       text NOT NULL,
        details       jsonb NOT NULL DEFAULT '{}',
        request_id    text
      );
      CREATE INDEX audit_log_by_request ON audit_log (request_id) WHERE request_id IS NOT NULL;

      -- Append-only: the audit log is evidence, so the database itself refuses to change it.
      CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_log is append-only';
      END $$;
      CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
    `,
  },
  {
    version: 2,
    name: 'scheduled backup slots',
    sql: `
      -- One row per BACKUP_SCHEDULE slot: the replica whose INSERT wins runs it, so a slot runs once
      -- across replicas and restarts. A slot too old to catch up is recorded as skipped.
      CREATE TABLE backup_slots (
        slot          timestamptz PRIMARY KEY,
        claimed_by    text NOT NULL,
        claimed_at    timestamptz NOT NULL DEFAULT now(),
        finished_at   timestamptz,
        outcome       text CHECK (outcome IN ('ok', 'failed', 'skipped')),
        detail        jsonb
      );
    `,
  },
  {
    version: 3,
    name: 'replicas and who runs what',
    sql: `
      -- Every bot process, with a heartbeat. A claim (a backup slot, an approved action, a
      -- timeline post) names the replica that took it; when that replica stops beating or has
      -- left, the others take over its slot, report its action as interrupted, and post its
      -- events. A claimer with no row at all (a version from before this table) counts as alive.
      CREATE TABLE replicas (
        instance      text PRIMARY KEY,
        host          text NOT NULL,
        pid           integer NOT NULL,
        started_at    timestamptz NOT NULL DEFAULT now(),
        seen_at       timestamptz NOT NULL DEFAULT now(),
        left_at       timestamptz
      );
      ALTER TABLE approval_requests ADD COLUMN executed_by text;
      ALTER TABLE incident_events ADD COLUMN claimed_by text;
    `,
  },
  {
    version: 4,
    name: 'backups the bot wrote or imported; scratch databases; applications scaled down',
    sql: `
      -- The only backup files the bot verifies or restores: those it wrote, and those accepted by a
      -- gated \`backup import\`. The checksum of the whole file and of each chunk of it, so that
      -- every byte fed to psql is checked before psql reads it. Freshness and \`latest\` come from
      -- here (the time the bot took it), never from a file name.
      CREATE TABLE backup_files (
        name              text PRIMARY KEY,
        origin            text NOT NULL CHECK (origin IN ('bot', 'imported')),
        sha256            text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size_bytes        bigint NOT NULL CHECK (size_bytes >= 0),
        chunk_bytes       integer NOT NULL CHECK (chunk_bytes > 0),
        chunk_sha256      bytea NOT NULL,
        taken_at          timestamptz NOT NULL,
        recorded_at       timestamptz NOT NULL DEFAULT now(),
        recorded_by       text NOT NULL,
        requested_by      text,
        approved_by       text,
        row_counts        jsonb,
        row_counts_taken  text CHECK (row_counts_taken IN ('same-snapshot', 'separately')),
        verification      jsonb
      );
      CREATE INDEX backup_files_newest_bot ON backup_files (taken_at DESC) WHERE origin = 'bot';

      -- Scratch databases of \`backup verify\` while they exist: what a crash leaves is dropped later.
      CREATE TABLE verify_databases (
        name        text PRIMARY KEY,
        created_by  text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      );

      -- "The application had N replicas", written before a procedure scales it to 0 and removed when
      -- it is scaled back. A row whose replica died is scaled back by a surviving (or the next) one.
      CREATE TABLE app_scale_downs (
        namespace     text NOT NULL,
        deployment    text NOT NULL,
        replicas      integer NOT NULL CHECK (replicas > 0),
        operation     text NOT NULL,
        request_id    text,
        approved_by   text,
        instance      text NOT NULL,
        scaled_at     timestamptz NOT NULL DEFAULT now(),
        recovery_by   text,
        recovery_at   timestamptz,
        PRIMARY KEY (namespace, deployment)
      );
    `,
  },
  {
    version: 6,
    name: 'alert groups from Alertmanager',
    sql: `
      -- One row per alert group episode: from its first firing notification to its resolution, one
      -- Slack message. The current episode of a group is found by its groupKey on any replica; a
      -- group firing again after it resolved starts a new row (a new message), the old one stays.
      CREATE TABLE alert_groups (
        id             bigserial PRIMARY KEY,
        group_key      text NOT NULL,
        current        boolean NOT NULL DEFAULT true,
        channel        text NOT NULL,
        status         text NOT NULL CHECK (status IN ('firing', 'resolved')),
        -- The latest notification that changed what the message shows, and the digest of that
        -- content: a repeat (repeat_interval, HA peers, retries) has the same digest.
        notification   jsonb NOT NULL,
        digest         text NOT NULL,
        -- Every change (a notification, a silence, an incident) bumps the version; the message is
        -- redrawn until drawn_version catches up, by the replica holding the drawing claim.
        version        integer NOT NULL DEFAULT 1,
        drawn_version  integer NOT NULL DEFAULT 0,
        drawing_by     text,
        drawing_at     timestamptz,
        message_ts     text,
        started_at     timestamptz NOT NULL DEFAULT now(),
        changed_at     timestamptz NOT NULL DEFAULT now(),
        heard_at       timestamptz NOT NULL DEFAULT now(),
        resolved_at    timestamptz,
        silence_id     text,
        silenced_by    text,
        silenced_until timestamptz,
        silencing_by   text,
        silencing_at   timestamptz,
        incident_id    bigint REFERENCES incidents (id)
      );
      CREATE UNIQUE INDEX alert_groups_current_by_key ON alert_groups (group_key) WHERE current;
      CREATE INDEX alert_groups_to_draw ON alert_groups (id) WHERE drawn_version < version;
    `,
  },
  {
    version: 7,
    name: 'maintenance runs',
    sql: `
      -- The maintenance operation running now (VACUUM, REINDEX, an index build, check…) and the
      -- session on the operated database that runs its statement, so that a Cancel click reaching
      -- any replica can find that session and cancel it. cancel_requested_* also tells the replica
      -- running it to start no further statement.
      CREATE TABLE maintenance_runs (
        id                   text PRIMARY KEY,
        operation            text NOT NULL,
        summary              text NOT NULL,
        requester            text NOT NULL,
        channel              text NOT NULL,
        request_id           text,
        instance             text NOT NULL,
        session_pid          integer,
        session_started      text,
        started_at           timestamptz NOT NULL DEFAULT now(),
        cancel_requested_by  text,
        cancel_requested_at  timestamptz,
        finished_at          timestamptz
      );
    `,
  },
  {
    version: 9,
    name: 'users the bot created',
    sql: `
      -- The login roles \`user create\` made, and the Secret that holds each one's password, so that
      -- \`user rotate-password\` accepts them as it accepts MANAGED_USERS. Never the password itself.
      CREATE TABLE created_users (
        role          text PRIMARY KEY,
        namespace     text NOT NULL,
        secret        text NOT NULL,
        secret_key    text NOT NULL,
        read_only     boolean NOT NULL,
        created_by    text NOT NULL,
        approved_by   text NOT NULL,
        request_id    text,
        created_at    timestamptz NOT NULL DEFAULT now(),
        rotated_at    timestamptz
      );
    `,
  },
  {
    version: 10,
    name: 'slots of PITR_BACKUP_SCHEDULE',
    sql: `
      -- One row per slot of PITR_BACKUP_SCHEDULE (pgBackRest base backups), claimed by one replica
      -- exactly as backup_slots are for the dumps: the INSERT that wins runs the slot.
      CREATE TABLE pitr_backup_slots (
        slot          timestamptz PRIMARY KEY,
        claimed_by    text NOT NULL,
        claimed_at    timestamptz NOT NULL DEFAULT now(),
        finished_at   timestamptz,
        outcome       text CHECK (outcome IN ('ok', 'failed', 'skipped')),
        detail        jsonb
      );
    `,
  },
  {
    version: 11,
    name: 'history of the key figures',
    sql: `
      -- One row per HISTORY_INTERVAL slot: the replica whose INSERT wins samples it, so a slot is
      -- sampled once across replicas. Rows older than a day are folded into 5-minute rows, those
      -- older than a week into hourly ones (bucket_s says which), and rows past HISTORY_RETENTION
      -- are deleted (state/history-downsample.ts), so the table stays a few thousand rows.
      CREATE TABLE history_samples (
        at                     timestamptz PRIMARY KEY,
        bucket_s               integer NOT NULL CHECK (bucket_s > 0),
        claimed_by             text NOT NULL,
        claimed_at             timestamptz NOT NULL DEFAULT now(),
        -- Successful samples in the row: 0 while the slot is being sampled, or when it failed.
        samples                integer NOT NULL DEFAULT 0,
        error                  text,
        max_connections        integer,
        -- Client connections: the mean over the row (one sample: the count), and the most seen.
        connections            real,
        connections_peak       integer,
        active                 real,
        idle                   real,
        idle_in_transaction    real,
        -- Counter increases over counted_s seconds (rates and the cache hit of the interval).
        commits                bigint,
        rollbacks              bigint,
        blocks_hit             bigint,
        blocks_read            bigint,
        counted_s              real,
        -- The last size seen in the row; the ten largest tables as [{schema, table, bytes}].
        database_bytes         bigint,
        largest_tables         jsonb,
        -- The worst seen in the row.
        longest_transaction_s  real,
        locks_waiting          integer,
        replication_lag_bytes  bigint,
        -- Raw rows only: the cumulative counters, from which the next sample's increases are taken.
        counters               jsonb
      );
    `,
  },
  {
    version: 14,
    name: 'the database deployment in app_scale_downs',
    sql: `
      -- A point-in-time restore also notes the database deployment's replicas before it stops it. A
      -- row of kind database whose replica died is not scaled back (a half-done restore may be in
      -- the data directory): it is announced once, and holds the application rows back until the
      -- database runs again (jobs/app-scale-recovery.ts).
      ALTER TABLE app_scale_downs
        ADD COLUMN kind text NOT NULL DEFAULT 'application' CHECK (kind IN ('application', 'database')),
        ADD COLUMN announced_at timestamptz;
    `,
  },
  {
    version: 15,
    name: 'home_charts',
    sql: `
      -- The App Home's 24 h picture, one per HOME_CHART_CHANNEL: the file shared there that Home views
      -- name (an image block's slack_file), and who is drawing the next one. The claim makes one
      -- replica draw and share it at a time; the people who opened the tab meanwhile (viewers) get
      -- their Home published again by whoever finishes (state/home-charts.ts).
      CREATE TABLE home_charts (
        channel text PRIMARY KEY,
        file_id text,
        alt_text text,
        window_to timestamptz,
        shared_at timestamptz,
        error text,
        failed_at timestamptz,
        drawing_by text,
        drawing_since timestamptz,
        viewers text[] NOT NULL DEFAULT '{}'
      );
    `,
  },
  {
    version: 17,
    name: 'alert_groups.muted',
    sql: `
      -- What the bot last saw muting a firing group in Alertmanager other than its own Silence
      -- button: a JSON array of silences (id, author, comment, end) and inhibitions (the inhibiting
      -- alert's name), NULL when it last saw the group not muted or never looked. Alertmanager does
      -- not notify the resolution of muted alerts: a group last seen muted whose alerts it no longer
      -- lists resolved; one never seen muted may only be missing from a restarting Alertmanager.
      -- muted_seen_at: when the bot last saw Alertmanager list all of them suppressed (its own
      -- silence included), compared with when the answering Alertmanager started, which loses its
      -- alerts (not its silences) on a restart.
      ALTER TABLE alert_groups ADD COLUMN muted jsonb, ADD COLUMN muted_seen_at timestamptz;
    `,
  },
];
