#!/usr/bin/env bash
# Builds tapflow on Debian / Raspberry Pi OS: installs the build prerequisites when missing,
# installs the npm dependencies (compiling the native `cap` module for this machine) and compiles.
#   ./build.sh          prerequisites + npm ci + compile
#   ./build.sh --test   the same, then the test suite (npm test)
set -euo pipefail
cd "$(dirname "$0")"

run_tests=false
for arg in "$@"; do
  case "$arg" in
    --test) run_tests=true ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $arg" >&2; exit 1 ;;
  esac
done

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Build prerequisites: libpcap headers and a C++ toolchain for the `cap` binding (node-gyp).
missing=()
for pkg in libpcap-dev g++ make python3; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "build.sh: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v node >/dev/null 2>&1; then
  echo "build.sh: Node.js 20 or newer is required (apt-get install nodejs, or https://nodejs.org)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "build.sh: Node.js $(node --version) found, 20 or newer is required" >&2
  exit 1
fi

# package.json's allowScripts lets npm run cap's install script (node-gyp rebuild).
npm ci --no-audit --no-fund
test -f node_modules/cap/build/Release/cap.node || { echo "build.sh: the cap native module was not built" >&2; exit 1; }
npm run build

if $run_tests; then npm test; fi
echo "build.sh: done. Try: agent/bin/tapflow --help"
