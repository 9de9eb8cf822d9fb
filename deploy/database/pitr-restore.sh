#!/bin/sh
# The database pod's init container `pitr-restore`: runs the point-in-time restore the bot asked
# for, on the data directory, before PostgreSQL starts. The request arrives as four environment
# variables from the ConfigMap recipe-database-pitr-restore (the only thing the bot may write),
# and every value is checked against a strict pattern: whatever the ConfigMap holds, this runs
# `pgbackrest restore` with these options and nothing else.
#
#   PITR_RESTORE_ID        the approval request's id; empty: no restore asked for, start as is
#   PITR_RESTORE_TARGET    2026-12-03 12:10:23.555+00 (always UTC, written with +00)
#   PITR_RESTORE_SET       the base backup label, e.g. 20261203-121019F_20261203-121025I
#   PITR_RESTORE_TIMELINE  the timeline to recover along, e.g. 1
#
# Also read: PGBACKREST_STANZA, PGBACKREST_CONFIG (default: pgBackRest's /etc/pgbackrest/pgbackrest.conf)
# and pgBackRest's own PGBACKREST_* variables (the repository's credentials), PGDATA, and PITR_RESTORE_MARKER (default: pitr-restore.done next to PGDATA). The marker
# keeps a pod that restarts after the restore from restoring again: pgBackRest's --delta would
# throw away everything written since.
#
# The test suite runs this same file, with the same variables, on its test cluster's data
# directory (test/support/local-pitr.ts).
set -eu

id=${PITR_RESTORE_ID:-}
if [ -z "$id" ]; then
  echo "pitr-restore: no point-in-time restore requested; starting the database as it is"
  exit 0
fi

: "${PGDATA:?PGDATA must name the data directory}"
: "${PGBACKREST_STANZA:?PGBACKREST_STANZA must name the pgBackRest stanza}"
marker=${PITR_RESTORE_MARKER:-$(dirname "$PGDATA")/pitr-restore.done}

if [ -f "$marker" ] && [ "$(cat "$marker")" = "$id" ]; then
  echo "pitr-restore: restore $id was already done; starting the database as it is"
  exit 0
fi

matches() { printf '%s' "$1" | grep -Eqx "$2"; }
refuse() { echo "pitr-restore: refusing the request: $1" >&2; exit 64; }

target=${PITR_RESTORE_TARGET:-}
label=${PITR_RESTORE_SET:-}
timeline=${PITR_RESTORE_TIMELINE:-}
matches "$id" '[A-Za-z0-9_-]{1,64}' || refuse "PITR_RESTORE_ID is not an id"
matches "$target" '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?\+00' || refuse "PITR_RESTORE_TARGET is not a UTC time written YYYY-MM-DD HH:MM:SS[.ffffff]+00"
matches "$label" '[0-9]{8}-[0-9]{6}F(_[0-9]{8}-[0-9]{6}[DI])?' || refuse "PITR_RESTORE_SET is not a pgBackRest backup label"
matches "$timeline" '[1-9][0-9]{0,7}' || refuse "PITR_RESTORE_TIMELINE is not a timeline number"

# A configuration file given by PGBACKREST_CONFIG goes on the command line, so that pgBackRest also
# writes it into the restore_command PostgreSQL runs while it recovers.
set -- "--stanza=$PGBACKREST_STANZA"
if [ -n "${PGBACKREST_CONFIG:-}" ]; then set -- "$@" "--config=$PGBACKREST_CONFIG"; fi

echo "pitr-restore: restore $id: $PGDATA to $target from $label along timeline $timeline"
pgbackrest "$@" --log-level-console=info restore \
  --delta --type=time "--target=$target" --target-action=promote "--set=$label" "--target-timeline=$timeline"

printf '%s\n' "$id" > "$marker.tmp"
mv "$marker.tmp" "$marker"
echo "pitr-restore: restore $id done; PostgreSQL recovers to $target when it starts"
