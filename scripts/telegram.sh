#!/usr/bin/env bash
# `make telegram`: the assistant (as scripts/run.sh starts it) with the Telegram channel,
# then the poller (default) or nothing more in webhook mode (TELEGRAM_MODE=webhook).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var logs
: "${ACTION_PORT:=5055}" "${RASA_PORT:=5005}"
export ACTION_PORT RASA_PORT

if [ -z "${TELEGRAM_BOT_TOKEN:-}" ]; then
  echo "Chưa có TELEGRAM_BOT_TOKEN. Tạo bot với @BotFather trên Telegram rồi chạy:" >&2
  echo "  export TELEGRAM_BOT_TOKEN=<token>   (xem docs/telegram.md)" >&2
  exit 2
fi
# Telegram sends this secret with every update and the channel refuses updates without it.
if [ -z "${TELEGRAM_SECRET_TOKEN:-}" ]; then
  [ -s var/telegram-secret ] || .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))' > var/telegram-secret
  TELEGRAM_SECRET_TOKEN=$(cat var/telegram-secret)
fi
# Rasa refuses a ${VAR} in credentials that is not set; empty means the default.
: "${TELEGRAM_API_BASE_URL:=}"
export TELEGRAM_BOT_TOKEN TELEGRAM_SECRET_TOKEN TELEGRAM_API_BASE_URL

# credentials.yml plus the Telegram block, unless credentials.yml already has it.
if grep -q '^bot\.channels\.telegram\.TelegramInput:' credentials.yml; then
  CREDENTIALS=credentials.yml
else
  CREDENTIALS=var/credentials.telegram.yml
  { cat credentials.yml; echo; grep -v '^\s*#' credentials.telegram.example.yml; } > "$CREDENTIALS"
fi

if [ -z "${RASA_API_TOKEN:-}" ]; then
  [ -s var/api-token ] || .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(24))' > var/api-token
  RASA_API_TOKEN=$(cat var/api-token)
fi
export RASA_API_TOKEN

.venv/bin/python -m bot.dossier_cli seed-demo >/dev/null

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

.venv/bin/rasa run actions --actions actions --port "$ACTION_PORT" >logs/actions.log 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$ACTION_PORT/health" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "Action server failed to start; see logs/actions.log" >&2; tail -20 logs/actions.log >&2; exit 1; }
  sleep 1
done

.venv/bin/rasa run --model models/current.tar.gz --endpoints endpoints.yml \
  --credentials "$CREDENTIALS" --port "$RASA_PORT" --interface "${RASA_INTERFACE:-127.0.0.1}" \
  --enable-api --auth-token "$RASA_API_TOKEN" >logs/rasa.log 2>&1 &
pids+=($!)
echo "Loading the model (about 30 seconds)..."
for _ in $(seq 1 180); do
  curl -fsS "http://127.0.0.1:$RASA_PORT/webhooks/telegram/" >/dev/null 2>&1 && break
  kill -0 "${pids[1]}" 2>/dev/null || { echo "Rasa server failed to start; see logs/rasa.log" >&2; tail -20 logs/rasa.log >&2; exit 1; }
  sleep 1
done
echo
echo "  Telegram webhook: http://127.0.0.1:$RASA_PORT/webhooks/telegram/webhook"
echo "  Web chat:         http://127.0.0.1:$RASA_PORT/webhooks/webchat/"
echo "  Logs:             logs/rasa.log, logs/actions.log    (Ctrl-C to stop)"

if [ "${TELEGRAM_MODE:-polling}" = "webhook" ]; then
  echo "  Webhook mode: put HTTPS in front of port $RASA_PORT, then register it once, with the"
  echo "  same TELEGRAM_SECRET_TOKEN (generated ones are kept in var/telegram-secret):"
  echo "    .venv/bin/python -m bot.telegram_admin set-webhook --url https://<host>/webhooks/telegram/webhook"
else
  RASA_URL="http://127.0.0.1:$RASA_PORT" .venv/bin/python -m bot.telegram_polling &
  pids+=($!)
  echo "  Polling mode: messages to the bot are fetched from Telegram (any webhook was removed)."
fi
wait -n "${pids[@]}"
