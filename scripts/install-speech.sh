#!/usr/bin/env bash
# Installs the speech synthesizer that `audio: true` needs (Debian's espeak-ng), when it is missing
# and this is root; otherwise says in one line that speech is off. Never fails: a server without
# speech still serves everything else (and refuses `audio: true`).
set -uo pipefail

if command -v espeak-ng > /dev/null; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get > /dev/null; then
    echo "speech is off: espeak-ng is not installed (as root: apt-get install espeak-ng)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends espeak-ng > /dev/null 2>&1 \
    || { apt-get update -q > /dev/null 2>&1 && apt-get install -y -q --no-install-recommends espeak-ng > /dev/null 2>&1; }
command -v espeak-ng > /dev/null || echo "speech is off: installing espeak-ng failed (apt-get install espeak-ng)" >&2
exit 0
