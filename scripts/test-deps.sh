#!/usr/bin/env bash
# What `npm test` needs beyond npm (run as the `pretest` script, and by .ci/run through it): the
# real programs the suite starts. Missing ones are installed from Debian's packages when we may
# (root with apt-get); otherwise this names the packages and fails, rather than letting a test
# fail later with a less clear message.
set -euo pipefail

# binary (or file) to look for | Debian package that provides it
needs=(
  "initdb|postgresql"
  "pg_config|libpq-dev"
  "/usr/share/postgresql/15/extension/pg_stat_statements.control|postgresql-contrib"
  "prometheus-postgres-exporter|prometheus-postgres-exporter"
  "prometheus-alertmanager|prometheus-alertmanager"
  "/usr/share/prometheus/alertmanager/default.tmpl|prometheus-alertmanager"
  "promtool|prometheus"
  "pgbackrest|pgbackrest"
)

pgbin=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
have() {
  case "$1" in
    /*) [ -e "$1" ] ;;
    initdb) command -v initdb >/dev/null 2>&1 || [ -x "$pgbin/initdb" ] || [ -x /usr/lib/postgresql/15/bin/initdb ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for entry in "${needs[@]}"; do
  what=${entry%%|*}
  package=${entry##*|}
  if ! have "$what"; then
    case " ${missing[*]-} " in *" $package "*) ;; *) missing+=("$package") ;; esac
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "npm test needs these Debian packages: ${missing[*]} (as root: apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the packages from starting system services: the tests start their own servers.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
