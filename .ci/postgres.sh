# Start a throwaway PostgreSQL for the ledger tests, and tell them where it is.
# Sourced (`. .ci/postgres.sh`) by .ci/run, and by a developer before running
# tests/test_ledger*.py; it exports:
#   RETURNS_KIT_TEST_POSTGRES_URL  postgresql://returns@/returns_test?host=SOCKETDIR&port=PORT
#   RETURNS_KIT_REQUIRE_POSTGRES=1 (a missing PostgreSQL then fails the tests, not skips them)
#   RETURNS_KIT_POSTGRES_DIR       the cluster's folder; `returns_kit_postgres_stop` stops it
# The cluster lives in a new temporary folder, listens only on a unix socket there (no TCP
# port to clash with), trusts local connections, and runs as an unprivileged user: the
# `postgres` system user when this runs as root (PostgreSQL refuses to run as root).
# Debian's `postgresql` package is installed first when missing (as root, with apt-get).

returns_kit_postgres_start() {
  local bin user dir port
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "ci: installing PostgreSQL (Debian's postgresql)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        postgresql; } >/tmp/ci-apt-postgresql.log 2>&1 \
      || echo "ci: warning: PostgreSQL could not be installed; its tests will fail" >&2
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  fi
  if [ -z "$bin" ]; then
    echo "ci: warning: no PostgreSQL found (/usr/lib/postgresql/*/bin)" >&2
    export RETURNS_KIT_REQUIRE_POSTGRES=1
    return 1
  fi
  dir=$(mktemp -d "${TMPDIR:-/tmp}/returns-kit-pg.XXXXXX")
  port=5499
  run_as() { "$@"; }
  if [ "$(id -u)" = 0 ]; then
    user=postgres
    id "$user" >/dev/null 2>&1 || useradd --system --no-create-home "$user"
    chown "$user" "$dir"
    run_as() { runuser -u "$user" -- "$@"; }
  fi
  chmod 755 "$dir"
  if ! run_as "$bin/initdb" --pgdata "$dir/data" --username returns --auth trust \
      --encoding UTF8 --no-sync >"$dir/initdb.log" 2>&1; then
    echo "ci: warning: initdb failed (see $dir/initdb.log)" >&2
    export RETURNS_KIT_REQUIRE_POSTGRES=1
    return 1
  fi
  if ! run_as "$bin/pg_ctl" --pgdata "$dir/data" --log "$dir/server.log" --wait \
      -o "-c listen_addresses='' -k $dir -p $port -c fsync=off" start >/dev/null; then
    echo "ci: warning: PostgreSQL did not start (see $dir/server.log)" >&2
    export RETURNS_KIT_REQUIRE_POSTGRES=1
    return 1
  fi
  run_as "$bin/createdb" --host "$dir" --port "$port" --username returns returns_test
  export RETURNS_KIT_POSTGRES_DIR="$dir"
  export RETURNS_KIT_POSTGRES_BIN="$bin"
  export RETURNS_KIT_TEST_POSTGRES_URL="postgresql://returns@/returns_test?host=$dir&port=$port"
  export RETURNS_KIT_REQUIRE_POSTGRES=1
  echo "ci: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on $dir (port $port)"
}

returns_kit_postgres_stop() {
  [ -n "${RETURNS_KIT_POSTGRES_DIR:-}" ] || return 0
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$RETURNS_KIT_POSTGRES_BIN/pg_ctl" \
      --pgdata "$RETURNS_KIT_POSTGRES_DIR/data" --mode immediate stop >/dev/null 2>&1
  else
    "$RETURNS_KIT_POSTGRES_BIN/pg_ctl" --pgdata "$RETURNS_KIT_POSTGRES_DIR/data" \
      --mode immediate stop >/dev/null 2>&1
  fi
  rm -rf "$RETURNS_KIT_POSTGRES_DIR"
  unset RETURNS_KIT_POSTGRES_DIR
}

returns_kit_postgres_start
