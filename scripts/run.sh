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
export ACTION_PORT RASA_PORT SANIC_REQUEST_MAX_SIZE

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

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

.venv/bin/python -m actions.server --port "$ACTION_PORT" >logs/actions.log 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$ACTION_PORT/health" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "Action server failed to start; see logs/actions.log" >&2; tail -20 logs/actions.log >&2; exit 1; }
  sleep 1
done

.venv/bin/rasa run --model models/current.tar.gz --endpoints endpoints.yml \
  --credentials "${CREDENTIALS:-credentials.yml}" --port "$RASA_PORT" --interface "${RASA_INTERFACE:-127.0.0.1}" \
  --enable-api --auth-token "$RASA_API_TOKEN" >logs/rasa.log 2>&1 &
pids+=($!)
echo "Loading the model (about 30 seconds)..."
for _ in $(seq 1 180); do
  curl -fsS "http://127.0.0.1:$RASA_PORT/webhooks/webchat/" >/dev/null 2>&1 && break
  kill -0 "${pids[1]}" 2>/dev/null || { echo "Rasa server failed to start; see logs/rasa.log" >&2; tail -20 logs/rasa.log >&2; exit 1; }
  sleep 1
done
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
echo "  Logs:      logs/rasa.log, logs/actions.log    (Ctrl-C to stop)"
if [ -n "${AFTER_START:-}" ]; then
  RASA_URL="http://127.0.0.1:$RASA_PORT" bash -c "$AFTER_START" &
  pids+=($!)
fi
wait -n "${pids[@]}"
