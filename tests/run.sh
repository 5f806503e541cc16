#!/usr/bin/env bash
# The README's test command: installs what the tests need (Debian packages, a venv, npm
# packages) and runs every suite. Any stage that fails, or any engine that does not start,
# makes the whole run fail: nothing is skipped silently.
#
#   bash tests/run.sh            # everything
#   STAGES="lint python" bash tests/run.sh   # a subset, for local iteration
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

ALL_STAGES="system venv lint python reliability pythons build node js browser"
STAGES=${STAGES:-$ALL_STAGES}
declare -a RESULTS=()
started=$(date +%s)

log() { printf '\n=== %s ===\n' "$*"; }
stage_on() { [[ " $STAGES " == *" $1 "* ]]; }
run_stage() {
  local name=$1; shift
  stage_on "$name" || return 0
  log "$name"
  local t0=$(date +%s)
  if "$@"; then
    RESULTS+=("PASS  $name ($(( $(date +%s) - t0 ))s)")
  else
    RESULTS+=("FAIL  $name ($(( $(date +%s) - t0 ))s)")
    summary; exit 1
  fi
}
summary() {
  log "summary ($(( $(date +%s) - started ))s)"
  printf '%s\n' "${RESULTS[@]}"
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_system() {
  local need=()
  command -v git >/dev/null || need+=(git)
  command -v sqlite3 >/dev/null || need+=(sqlite3)
  command -v chromium >/dev/null || need+=(chromium chromium-driver)
  command -v firefox-esr >/dev/null || need+=(firefox-esr)
  command -v WebKitWebDriver >/dev/null || need+=(webkit2gtk-driver)
  command -v xvfb-run >/dev/null || need+=(xvfb xauth)
  command -v lighttpd >/dev/null || need+=(lighttpd)  # serves git http-backend (tests/gitserver.py)
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing Debian packages: ${need[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
      "${need[@]}" >/dev/null
  else
    echo "Debian packages already present"
  fi
}

install_venv() {
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q -e '.[dev,numpy,browser]' 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c "import webstore, hypothesis, pytest, msgpack; print('venv ok')"
  if [ -f package.json ]; then
    # `npm ci`: exactly the committed lock file (which lists every platform's optional
    # binaries), so installs are reproducible and leave the tree clean.
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

lint() {
  .venv/bin/ruff check webstore tests bench wasm
  .venv/bin/mypy webstore
}

python_suites() {
  command -v git >/dev/null || { echo "git is required for the Git-format checks"; return 1; }
  .venv/bin/python -m pytest tests/python tests/remote -q -p no:cacheprovider
}

reliability() {
  # The CPython half of the reliability campaign (docs/RELIABILITY.md): SIGKILL x100, two
  # writer processes, corruption, 10,000 hostile programs per backend, untrusted peers.
  # WEBSTORE_NIGHTLY=1 runs the long version.
  .venv/bin/python -m pytest tests/reliability -p no:cacheprovider -q -s
}

other_pythons() {
  # The CPython suite again on every other supported CPython found on the machine (pyenv
  # here has 3.12 and 3.13; 3.14 is exercised through Pyodide, which is CPython 3.14.2).
  # A version that is absent is reported, not counted as passing.
  local ran=0 v py
  for v in 3.12 3.13 3.14; do
    py=""
    for cand in "$(command -v "python$v" || true)" \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v"; do
      if [ -n "$cand" ] && [ -x "$cand" ] && "$cand" -c 'import sys' 2>/dev/null; then
        py=$cand; break
      fi
    done
    if [ -z "$py" ]; then
      echo "python$v: not installed here (not run)"; continue
    fi
    [ -x ".venv-$v/bin/python" ] || "$py" -m venv ".venv-$v"
    ".venv-$v/bin/pip" install -q -e '.[test,numpy]' 2>&1 | grep -v '^WARNING: Location' || true
    echo "--- CPython $v"
    ".venv-$v/bin/python" -m pytest tests/python tests/remote -q -p no:cacheprovider -x \
      -m "not load" || return 1
    ran=$((ran + 1))
  done
  [ "$ran" -gt 0 ] || { echo "no CPython besides 3.11 found"; return 1; }
}

build_wasm() {
  python3 wasm/build.py
}

node_suite() {
  WEBSTORE_SKIP_BUILD=1 bash tests/node/run.sh
}

js_suites() {
  bash tests/js/run.sh
}

browser_matrix() {
  # Chromium and Firefox ESR (Playwright), WebKitGTK (Selenium) under xvfb-run: every engine x
  # backend. An engine that does not start fails the run (tests/browser/conftest.py).
  WEBSTORE_SKIP_BUILD=1 WEBSTORE_ENGINES=chromium,firefox,webkit bash tests/browser/run.sh
}

run_stage system install_system
run_stage venv install_venv
run_stage lint lint
run_stage python python_suites
run_stage reliability reliability
run_stage pythons other_pythons
# From here on `python3` is the venv's (the wasm build uses pip from it).
export PATH="$PWD/.venv/bin:$PATH"
run_stage build build_wasm
run_stage node node_suite
run_stage js js_suites
run_stage browser browser_matrix
summary
