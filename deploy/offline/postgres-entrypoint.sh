#!/bin/sh
# Starts PostgreSQL 15 (Debian's packages) the way the official postgres image does, for the
# settings docker-compose.yml uses:
#   POSTGRES_PASSWORD (required on first start), POSTGRES_USER (default postgres),
#   POSTGRES_DB (default: the user's name), PGDATA (default /var/lib/postgresql/data), PGPORT,
#   /docker-entrypoint-initdb.d/*.sql, *.sql.gz and *.sh, run once when the data folder is new.
# Arguments: optional "postgres" followed by server options (-c name=value ...), as the official
# image takes them. Runs as root only long enough to own the data folder.
set -eu
BIN=/usr/lib/postgresql/15/bin
PGDATA=${PGDATA:-/var/lib/postgresql/data}
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
export PGDATA PGPORT="${PGPORT:-5432}"
[ "${1:-}" = postgres ] && shift

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "postgres: POSTGRES_PASSWORD must be set for a new database (the official image's rule)" >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  "$BIN/initdb" --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  # As the official image: any address may connect, with the password.
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  # The init scripts run against a server that listens on its socket only.
  "$BIN/pg_ctl" --pgdata="$PGDATA" --wait --silent -o "-c listen_addresses=''" start
  run_psql() { "$BIN/psql" -v ON_ERROR_STOP=1 --no-psqlrc --username="$POSTGRES_USER" --no-password "$@"; }
  if [ "$POSTGRES_DB" != postgres ]; then
    run_psql --dbname=postgres --set db="$POSTGRES_DB" -q -c 'CREATE DATABASE :"db"'
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh) echo "postgres: running $f"; . "$f" ;;
      *.sql) echo "postgres: running $f"; run_psql --dbname="$POSTGRES_DB" -q -f "$f" ;;
      *.sql.gz) echo "postgres: running $f"; gunzip -c "$f" | run_psql --dbname="$POSTGRES_DB" -q ;;
      *) echo "postgres: ignoring $f" ;;
    esac
  done
  "$BIN/pg_ctl" --pgdata="$PGDATA" --wait --silent -m fast stop
  echo "postgres: database initialised"
fi

exec "$BIN/postgres" -c listen_addresses='*' "$@"
