#!/usr/bin/env bash
# Start the action server and the Rasa server; `run.sh shell` chats in the terminal instead.
# CREDENTIALS picks another credentials file (channels); AFTER_START is a command
# run once the server is up (scripts/telegram.sh starts its poller that way).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var logs
: "${ACTION_PORT:=5055}" "${RASA_PORT:=5005}"
# Sanic reads whole bodies before any handler: refuse huge ones outright.
: "${SANIC_REQUEST_MAX_SIZE:=1048576}"
# logs/*.log are for machines (a log shipper, grep for a correlation id): JSON lines.
: "${LOG_FORMAT:=json}"
export ACTION_PORT RASA_PORT SANIC_REQUEST_MAX_SIZE LOG_FORMAT

# Secrets, generated once into var/ unless the environment sets them:
# RASA_API_TOKEN guards the Rasa HTTP API (the dossier notifier uses it),
# ACTION_SERVER_TOKEN the action server, ASSISTANT_SECRET signs web chat sessions.
secret() {  # secret VAR FILE
  if [ -z "${!1:-}" ]; then
    [ -s "$2" ] || (umask 077; .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))' > "$2")
    printf -v "$1" '%s' "$(cat "$2")"
  fi
  export "${1?}"
}
secret RASA_API_TOKEN var/api-token
secret ACTION_SERVER_TOKEN var/action-token
secret ASSISTANT_SECRET var/assistant-secret

# Dossier database: create or upgrade the tables and load the demo dossiers.
.venv/bin/python -m bot.cli.dossiers seed-demo >/dev/null

# Each process is started by a function, so the supervisor below can start it again.
declare -A pid=()
start_actions() {
  .venv/bin/python -m actions.server --port "$ACTION_PORT" >>logs/actions.log 2>&1 &
  pid[actions]=$!
}
start_rasa() {
  .venv/bin/rasa run --model models/current.tar.gz --endpoints endpoints.yml \
    --credentials "${CREDENTIALS:-credentials.yml}" --port "$RASA_PORT" --interface "${RASA_INTERFACE:-127.0.0.1}" \
    --enable-api --auth-token "$RASA_API_TOKEN" >>logs/rasa.log 2>&1 &
  pid[rasa]=$!
}
start_after() {
  RASA_URL="http://127.0.0.1:$RASA_PORT" bash -c "$AFTER_START" &
  pid[after]=$!
}
cleanup() { for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
# A signal ends the supervisor too (a trap alone would let it restart everything).
trap 'exit 130' INT TERM
# wait_up NAME URL LOG SECONDS: until URL answers, or the process died.
wait_up() {
  for _ in $(seq 1 "$4"); do
    curl -fsS "$2" >/dev/null 2>&1 && return 0
    kill -0 "${pid[$1]}" 2>/dev/null || { echo "$1 failed to start; see $3" >&2; tail -20 "$3" >&2; return 1; }
    sleep 1
  done
  echo "$1 did not answer within $4 s; see $3" >&2
  return 1
}

: >logs/actions.log; : >logs/rasa.log
start_actions
wait_up actions "http://127.0.0.1:$ACTION_PORT/health" logs/actions.log 60 || exit 1
start_rasa
echo "Loading the model (about 30 seconds)..."
wait_up rasa "http://127.0.0.1:$RASA_PORT/webhooks/webchat/" logs/rasa.log 180 || exit 1
if [ "${1:-}" = "shell" ]; then
  # The terminal is one more client of the running assistant (bot/terminal.py).
  .venv/bin/python -m bot.terminal --url "http://127.0.0.1:$RASA_PORT"
  exit 0
fi
echo
echo "  Web chat:  http://127.0.0.1:$RASA_PORT/webhooks/webchat/"
echo "  REST API:  http://127.0.0.1:$RASA_PORT/webhooks/rest/webhook"
echo "  Demo dossiers to look up: data/demo/README.md"
echo "  Staff CLI: .venv/bin/python -m bot.cli.dossiers --help   (status changes notify subscribers)"
echo "  Operators: http://127.0.0.1:$RASA_PORT/webhooks/ops/ready and /webhooks/ops/metrics;"
echo "             http://127.0.0.1:$ACTION_PORT/ready and /metrics (action server)"
echo "  Logs:      logs/rasa.log, logs/actions.log, JSON lines    (Ctrl-C to stop)"
[ -n "${AFTER_START:-}" ] && start_after

# Supervisor: a process that dies is started again, and says so; a process that
# keeps dying (5 times in 10 minutes) stops the assistant instead of looping.
declare -A deaths=()
while true; do
  sleep "${SUPERVISE_INTERVAL:-2}"
  for name in "${!pid[@]}"; do
    kill -0 "${pid[$name]}" 2>/dev/null && continue
    code=0; wait "${pid[$name]}" 2>/dev/null || code=$?
    now=$(date +%s)
    recent=""
    for t in ${deaths[$name]:-}; do (( now - t < 600 )) && recent+="$t "; done
    deaths[$name]="$recent$now"
    if (( $(wc -w <<<"${deaths[$name]}") >= 5 )); then
      echo "$(date '+%F %T') $name stopped 5 times in 10 minutes (exit $code); giving up. See logs/." >&2
      exit 1
    fi
    echo "$(date '+%F %T') $name stopped (exit $code); restarting it. See logs/$name.log." >&2
    "start_$name"
  done
done
