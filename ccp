#!/usr/bin/env bash
# Bootstrap and run the platform's operator CLI.
#   ./ccp demo     the platform with a live demo feed (embedded SQLite, local Kafka)
#   ./ccp test     the full test suite (sets up Kafka jars and PostgreSQL itself)
# Creates .venv on first use (and again when pyproject.toml or constraints.txt change).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
venv="$here/.venv"
py="${PYTHON:-}"
if [ -z "$py" ]; then
  for c in python3 python3.13 python3.12 python3.11; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then py="$c"; break; fi
  done
fi
[ -n "$py" ] || { echo "ccp: Python >= 3.11 is required" >&2; exit 2; }
stamp="$venv/.ccp-installed"
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "ccp: preparing $venv (Python packages pinned by constraints.txt) ..." >&2
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  if ! "$venv/bin/python" -m pip install -c constraints.txt -e ".[test]" >"$venv/.pip.log" 2>&1; then
    tail -n 40 "$venv/.pip.log" >&2
    echo "ccp: pip install failed (full log: $venv/.pip.log)" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
exec "$venv/bin/python" -m carectl "$@"
