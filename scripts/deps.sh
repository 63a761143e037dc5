#!/usr/bin/env bash
# Installs the Debian packages pops needs that are missing, and nothing else.
# Usage: scripts/deps.sh PACKAGE...
set -euo pipefail
missing=()
for pkg in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all system packages present ($*)"
  exit 0
fi
echo "deps: installing missing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "deps: error: need root (or sudo) to apt-get install ${missing[*]}; install them by hand and re-run" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: error: apt-get not found; install these packages with your system's package manager: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || { echo "deps: error: apt-get update failed (network?)" >&2; exit 1; }
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null \
  || { echo "deps: error: apt-get install ${missing[*]} failed" >&2; exit 1; }
echo "deps: installed ${missing[*]}"
