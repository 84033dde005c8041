# Sourced by bin/start and bin/test: a local virtual environment with the project installed.
# The install is redone only when pyproject.toml changes.

pick_python() {
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "Cashback Center needs Python 3.11 or newer; set PYTHON=/path/to/python3.11." >&2
  return 1
}

# ensure_venv run|dev
ensure_venv() {
  local extra=$1 digest
  digest=$(sha256sum pyproject.toml | cut -c1-16)
  if [ ! -x .venv/bin/python ]; then
    echo "Creating the virtual environment in .venv ..."
    "$(pick_python)" -m venv .venv
  fi
  # A dev install holds everything a run needs.
  if [ -f ".venv/.installed-dev-$digest" ] || [ -f ".venv/.installed-$extra-$digest" ]; then
    return 0
  fi
  echo "Installing Cashback Center ($extra) into .venv ..."
  .venv/bin/python -m pip install --quiet --upgrade pip
  if [ "$extra" = dev ]; then
    .venv/bin/python -m pip install --quiet -e ".[dev]"
  else
    .venv/bin/python -m pip install --quiet -e .
  fi
  rm -f .venv/.installed-*
  touch ".venv/.installed-$extra-$digest"
}
