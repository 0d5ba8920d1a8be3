#!/usr/bin/env bash
# What CI must do before `npm run test:e2e`: Debian packages (Chromium for the browser tests,
# ripgrep and libkrb5-dev for code-server) and code-server 4.100.3 in a cache folder.
# Idempotent. Run as root (or with sudo available for apt-get).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v rg >/dev/null 2>&1 || need+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
# Fonts so screenshots are legible; build tools for code-server's native modules.
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need+=(fonts-dejavu-core)
command -v make >/dev/null 2>&1 || need+=(make)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${need[@]}"
fi

"$HERE/install-code-server.sh"
