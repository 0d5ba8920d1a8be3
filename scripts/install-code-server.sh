#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3) into a cache folder outside the project's
# dependencies, for the end-to-end tests (test/e2e). Idempotent: does nothing when the binary is
# already there. Needs Debian's ripgrep (its binary seeds @vscode/ripgrep's download cache) and
# libkrb5-dev (kerberos builds from source); see scripts/ci-e2e-setup.sh.
#
#   scripts/install-code-server.sh            # installs into $LOSSMITH_CODE_SERVER_DIR
#   LOSSMITH_CODE_SERVER_DIR=/x scripts/install-code-server.sh
#
# Default folder: ${XDG_CACHE_HOME:-$HOME/.cache}/lossmith/code-server-4.100.3 (the e2e tests
# look there too). Prints the path of the code-server binary on its last line.
set -euo pipefail

VERSION=4.100.3
DIR="${LOSSMITH_CODE_SERVER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lossmith/code-server-$VERSION}"
BIN="$DIR/node_modules/.bin/code-server"

if [ -x "$BIN" ] && [ -f "$DIR/.installed" ]; then
  echo "code-server $VERSION already installed in $DIR" >&2
  echo "$BIN"
  exit 0
fi

if ! command -v rg >/dev/null 2>&1; then
  echo "ripgrep (rg) is missing: apt-get install -y ripgrep" >&2
  exit 1
fi

mkdir -p "$DIR"
TMP="$DIR/.tmp"
rm -rf "$TMP"
mkdir -p "$TMP/vscode-ripgrep-cache-1.15.11" "$TMP/rg"
# @vscode/ripgrep downloads rg from GitHub; seed its cache with Debian's binary instead.
cp "$(command -v rg)" "$TMP/rg/rg"
tar czf "$TMP/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$TMP/rg" rg

cd "$DIR"
[ -f package.json ] || echo '{ "name": "lossmith-code-server", "private": true }' > package.json
# As root the postinstall needs --unsafe-perm; node-pty's postinstall calls npx (npm_config_yes).
TMPDIR="$TMP" npm_config_yes=true npm install "code-server@$VERSION" \
  --unsafe-perm --foreground-scripts --no-audit --no-fund --loglevel=error >&2
rm -rf "$TMP"
"$BIN" --version >&2
touch "$DIR/.installed"
echo "$BIN"
