#!/usr/bin/env bash
# Builds tapflow on Debian / Raspberry Pi OS: installs the build prerequisites when missing,
# installs the npm dependencies (compiling the native `cap` module for this machine) and compiles.
#   ./build.sh            prerequisites + npm ci + compile
#   ./build.sh --test     the same, then the test suite (npm test)
#   ./build.sh --package  the same, then release artifacts in dist-release/ (packaging/make-release.sh):
#                         tapflow-<version>-linux-<arch>.tar.gz and tapflow_<version>_<debarch>.deb
# --test and --package combine (tests first). Build on the architecture you ship to (arm64 on a Pi).
set -euo pipefail
cd "$(dirname "$0")"

run_tests=false
make_package=false
for arg in "$@"; do
  case "$arg" in
    --test) run_tests=true ;;
    --package) make_package=true ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $arg" >&2; exit 1 ;;
  esac
done

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Build prerequisites: libpcap headers and a C++ toolchain for the `cap` binding (node-gyp).
# (--package also uses dpkg-deb, which comes with dpkg itself.)
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
if $make_package; then packaging/make-release.sh; fi
echo "build.sh: done. Try: agent/bin/tapflow --help"
