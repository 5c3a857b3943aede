#!/usr/bin/env bash
# `make cluster`: two Rasa replicas and two action servers behind haproxy, with
# the PostgreSQL tracker store, the dossier database on PostgreSQL and Rasa's
# Redis lock store (scripts/cluster.py, docs/deployment.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure_services.sh
command -v haproxy >/dev/null || { echo "haproxy is missing: apt-get install haproxy" >&2; exit 1; }
redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-6379}" ping >/dev/null 2>&1 || {
  echo "Redis is not reachable on ${REDIS_HOST:-127.0.0.1}:${REDIS_PORT:-6379}" >&2; exit 1; }
mkdir -p logs/cluster
exec .venv/bin/python scripts/cluster.py
