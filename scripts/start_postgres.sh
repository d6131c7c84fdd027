#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the catalog tests and print its URL.
# Usage: eval "$(scripts/start_postgres.sh)"  -> exports ROMAN_ASN_TEST_POSTGRES
# PostgreSQL refuses to run as root: the data directory belongs to the postgres user.
set -euo pipefail
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
        bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    else
        echo "echo 'PostgreSQL is not installed: catalog PostgreSQL tests will skip' >&2"
        exit 0
    fi
fi
# a free loopback port (another server, e.g. a developer's, may hold the usual one)
port=${ROMAN_ASN_PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
data=$(mktemp -d /tmp/roman-asn-pg.XXXXXX)
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$data"
run "$bindir/initdb" -D "$data" -U postgres -A trust --no-sync >/dev/null
run "$bindir/pg_ctl" -D "$data" -l "$data/log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off -c max_connections=50" start >/dev/null
echo "export ROMAN_ASN_TEST_POSTGRES=postgresql://postgres@127.0.0.1:$port/postgres"
echo "export ROMAN_ASN_PG_DATA=$data"
echo "export ROMAN_ASN_PG_BIN=$bindir"
