#!/usr/bin/env bash
# Installs and starts what the test suite needs on a fresh Debian 12 machine:
# Chromium (browser tests), the PostgreSQL 15 server (integration tests against a real server) and
# a single-node Apache Kafka broker (the Kafka relay's tests; Java 17 + Maven, scripts/setup-kafka.sh).
# Idempotent: safe to run again. Needs root (CI runs as root).
set -euo pipefail

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
[[ -x /usr/lib/postgresql/15/bin/postgres ]] || need_apt+=(postgresql)
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# PostgreSQL 15: make sure a cluster exists and runs, and a test database with a known password.
if ! pg_lsclusters -h 2>/dev/null | grep -q '^15 *main'; then
  pg_createcluster 15 main >/dev/null
fi
pg_ctlcluster 15 main start 2>/dev/null || true
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
pg_isready -h 127.0.0.1 -p 5432
su postgres -c "psql -qtAc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='refinery_test'\"" | grep -q 1 \
  || su postgres -c "createdb refinery_test"
echo "setup: PostgreSQL 15 ready at postgres://postgres:postgres@127.0.0.1:5432/refinery_test"
echo "setup: chromium $(chromium --version 2>/dev/null | awk '{print $2}')"

# Apache Kafka (KRaft, single node, loopback): jars from Maven Central, cached in ~/.m2 and ~/.cache.
bash "$(dirname "$0")/setup-kafka.sh" start
echo "setup: Kafka ready: export $(bash "$(dirname "$0")/setup-kafka.sh" env)"
