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

export CREDENTIALS
if [ "${TELEGRAM_MODE:-polling}" = "webhook" ]; then
  echo "Webhook mode: put HTTPS in front of port $RASA_PORT (/webhooks/telegram/webhook), then"
  echo "register it once with the same TELEGRAM_SECRET_TOKEN (generated ones are in var/telegram-secret):"
  echo "  .venv/bin/python -m bot.channels.telegram.admin set-webhook --url https://<host>/webhooks/telegram/webhook"
else
  echo "Polling mode: messages to the bot are fetched from Telegram (any webhook is removed)."
  export AFTER_START=".venv/bin/python -m bot.channels.telegram.polling"
fi
exec scripts/run.sh
