#!/usr/bin/env bash
# Start what the test suite needs when it is not running: PostgreSQL (dossier
# store tests), Redis and Debian's haproxy (the cluster and its fault tests,
# `make cluster`) and Debian's Chromium (console browser tests). Commands follow
# the machine notes of this environment; each step is skipped when not needed.
set -uo pipefail

if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  echo "Starting PostgreSQL..."
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 || echo "warning: PostgreSQL is not reachable on 127.0.0.1:5432" >&2

missing=""
command -v haproxy >/dev/null 2>&1 || missing+=" haproxy"
command -v redis-server >/dev/null 2>&1 || missing+=" redis-server"
if [ -n "$missing" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's$missing for the cluster (make cluster, fault tests)..."
  apt-get update -qq >/dev/null && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null || \
    echo "warning: could not install$missing" >&2
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1; then
  echo "Starting Redis..."
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes >/dev/null || true
  for _ in $(seq 1 10); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi

if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium and chromium-driver for the browser tests..."
  apt-get update -qq >/dev/null && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null || \
    echo "warning: could not install chromium" >&2
fi
exit 0
