#!/usr/bin/env bash
# Installs what the integration tests start themselves: PostgreSQL's server binaries (Debian).
# The S3-compatible server (moto) comes from PyPI with the test extras. Idempotent.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" > /dev/null || command -v pg_ctl > /dev/null; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL is not installed and this is not root: install the 'postgresql' package" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends postgresql > /dev/null 2>&1 \
    || { apt-get update -q > /dev/null && apt-get install -y -q --no-install-recommends postgresql > /dev/null; }
# the Debian package starts a cluster of its own on 5432; the tests start their own, so stop it
service postgresql stop > /dev/null 2>&1 || true
