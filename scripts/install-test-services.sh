#!/usr/bin/env bash
# Installs what the integration and browser tests start themselves (Debian packages), idempotently:
# - PostgreSQL's server binaries (the tests start a throw-away cluster);
# - Chromium at /usr/bin/chromium (the console's browser tests drive it with Playwright; no browser
#   is ever downloaded, so never run `playwright install`).
# - eSpeak NG (`espeak-ng`), the speech synthesizer of `audio: true` (the speech tests need it).
# - wrk, the HTTP load generator of bench/api.py (its smoke test runs it).
# The S3-compatible server (moto) and Playwright come from PyPI with the test extras.
set -euo pipefail

have_postgres() { compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" > /dev/null || command -v pg_ctl > /dev/null; }
have_chromium() { [ -x /usr/bin/chromium ]; }
have_espeak() { command -v espeak-ng > /dev/null; }
have_wrk() { command -v wrk > /dev/null; }

if have_postgres && have_chromium && have_espeak && have_wrk; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    have_postgres || echo "PostgreSQL is not installed and this is not root: install the 'postgresql' package" >&2
    have_chromium || echo "Chromium is not installed and this is not root: install the 'chromium' package" >&2
    have_wrk || echo "wrk is not installed and this is not root: install the 'wrk' package" >&2
    have_espeak || echo "eSpeak NG is not installed and this is not root: install the 'espeak-ng' package" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt_install() {
    apt-get install -y -q --no-install-recommends "$@" > /dev/null 2>&1 \
        || { apt-get update -q > /dev/null && apt-get install -y -q --no-install-recommends "$@" > /dev/null; }
}

if ! have_postgres; then
    apt_install postgresql
    # the Debian package starts a cluster of its own on 5432; the tests start their own, so stop it
    service postgresql stop > /dev/null 2>&1 || true
fi

if ! have_chromium; then
    apt_install chromium fonts-dejavu-core fonts-liberation  # fonts: text renders the same everywhere
fi

if ! have_espeak; then
    apt_install espeak-ng
fi

if ! have_wrk; then
    apt_install wrk
fi
