#!/usr/bin/env bash
# Print a working Python 3.10 interpreter, or explain how to get one.
# Rasa 3.6 supports Python 3.8-3.10 only; newer interpreters silently get an ancient Rasa.
set -u
candidates=("${PYTHON310:-}" python3.10)
for dir in "$HOME"/.pyenv/versions/3.10.*/bin /usr/local/bin /usr/bin /opt/python/3.10*/bin; do
  candidates+=("$dir/python3.10")
done
for py in "${candidates[@]}"; do
  [ -n "$py" ] || continue
  if "$py" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; then
    command -v "$py" 2>/dev/null || echo "$py"
    exit 0
  fi
done
cat >&2 <<'MSG'
Python 3.10 is required (Rasa Open Source 3.6 supports Python 3.8-3.10 only) and none was found.
Install it, for example:
  Debian/Ubuntu:  apt-get install python3.10 python3.10-venv
  pyenv:          pyenv install 3.10
or point to it:  make PYTHON310=/path/to/python3.10 run
MSG
exit 1
