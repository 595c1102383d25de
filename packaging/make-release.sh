#!/usr/bin/env bash
# Release artifacts from an existing build (./build.sh, or npm ci && npm run build):
#   DIR/tapflow-<version>-linux-<arch>.tar.gz  a relocatable tree: node <tree>/agent/bin/tapflow …
#   DIR/tapflow_<version>_<debarch>.deb         the Debian / Raspberry Pi OS package (dpkg-deb)
# DIR is dist-release/ unless --out DIR. Both hold the build's production node_modules only, with
# the native cap module as compiled for this machine (so build on the architecture you ship to),
# taken from a staging copy of node_modules pruned offline (npm prune --omit=dev): nothing is
# downloaded or recompiled. Usage: packaging/make-release.sh [--out DIR]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/dist-release

die() { echo "make-release: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
done

for tool in node npm dpkg dpkg-deb tar gzip md5sum; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
[ -f "$repo/agent/dist/src/cli/main.js" ] || die "no compiled agent in agent/dist: run ./build.sh first"
[ -f "$repo/node_modules/cap/build/Release/cap.node" ] || die "the native cap module is not built: run ./build.sh first"

version=$(node -p 'require(process.argv[1]).version' "$repo/package.json")
node_arch=$(node -p process.arch)
node_major=$(node -p 'process.versions.node.split(".")[0]')
node_abi=$(node -p process.versions.modules)
deb_arch=$(dpkg --print-architecture)
deb_version=${version//-/\~} # semver pre-releases (1.0.0-rc.1) sort before the release in dpkg as 1.0.0~rc.1
maintainer=${TAPFLOW_MAINTAINER:-tapflow maintainers <maintainers@tapflow.invalid>}
tree_name=tapflow-$version-linux-$node_arch
tarball=$out/$tree_name.tar.gz
deb=$out/tapflow_${deb_version}_$deb_arch.deb

stage=$(mktemp -d "${TMPDIR:-/tmp}/tapflow-release.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# 1. The application tree: /usr/lib/tapflow in the package, the core of the tarball.
app=$stage/app
mkdir -p "$app/agent/bin" "$app/agent/dist/src"
cp "$repo/package.json" "$repo/package-lock.json" "$app/"
cp -a "$repo/node_modules" "$app/"
(cd "$app" && npm prune --omit=dev --ignore-scripts --offline --no-audit --no-fund --loglevel=error >/dev/null)
rm "$app/package-lock.json"
# cap: only the compiled module is needed at run time (not its objects, sources or Windows SDK).
cap_dir=$app/node_modules/cap
mv "$cap_dir/build/Release/cap.node" "$stage/cap.node"
rm -rf "$cap_dir/build" "$cap_dir/deps" "$cap_dir/src" "$cap_dir/test" "$cap_dir/binding.gyp"
mkdir -p "$cap_dir/build/Release"
mv "$stage/cap.node" "$cap_dir/build/Release/cap.node"
find "$app/node_modules" -depth -type d -empty -delete
cp "$repo/agent/bin/tapflow" "$app/agent/bin/"
# Compiled JavaScript whose TypeScript source still exists (agent/dist may hold the output of a
# deleted source), without source maps (the sources are not shipped).
(cd "$repo/agent/dist/src" && find . -name '*.js' | sort) | while read -r js; do
  if [ -f "$repo/agent/src/${js%.js}.ts" ]; then
    mkdir -p "$app/agent/dist/src/$(dirname "$js")"
    cp "$repo/agent/dist/src/$js" "$app/agent/dist/src/$js"
  fi
done
chmod -R u+rwX,go+rX,go-w "$app"

# Smoke test of the pruned tree: the CLI starts and the native module loads.
[ "$(node "$app/agent/bin/tapflow" --version)" = "$version" ] || die "the staged tree does not report version $version"
node -e 'require(process.argv[1])' "$cap_dir" || die "the staged cap module does not load"

mkdir -p "$out"
rm -f "$tarball" "$deb"

# 2. The tarball: the application tree plus the service unit, the packaged configuration and docs.
tree=$stage/$tree_name
cp -a "$app" "$tree"
cp "$repo/README.md" "$tree/"
mkdir -p "$tree/systemd" "$tree/probe-config/packaged"
cp "$repo/systemd/tapflow.service" "$repo/systemd/README.md" "$tree/systemd/"
cp "$repo/probe-config/packaged/tapflow.json" "$tree/probe-config/packaged/"
chmod -R u+rwX,go+rX,go-w "$tree"
tar --sort=name --owner=0 --group=0 --numeric-owner -C "$stage" -czf "$tarball" "$tree_name"

# 3. The Debian package.
root=$stage/deb
substitute() {
  sed -e "s|@DEB_VERSION@|$deb_version|g" -e "s|@DEB_ARCH@|$deb_arch|g" -e "s|@MAINTAINER@|$maintainer|g" \
      -e "s|@NODE_MAJOR@|$node_major|g" -e "s|@NODE_ABI@|$node_abi|g" -e "s|@INSTALLED_SIZE_KIB@|${installed_size_kib:-0}|g" "$1"
}
mkdir -p "$root/usr/lib" "$root/usr/bin" "$root/etc/tapflow" "$root/lib/systemd/system" "$root/usr/share/doc/tapflow" "$root/DEBIAN"
cp -a "$app" "$root/usr/lib/tapflow"
substitute "$repo/packaging/deb/tapflow" > "$root/usr/bin/tapflow"
chmod 0755 "$root/usr/bin/tapflow"
cp "$repo/probe-config/packaged/tapflow.json" "$root/etc/tapflow/tapflow.json"
cp "$repo/systemd/tapflow.service" "$root/lib/systemd/system/tapflow.service"
cp "$repo/README.md" "$root/usr/share/doc/tapflow/README.md"
cp "$repo/systemd/README.md" "$root/usr/share/doc/tapflow/README.systemd.md"
{
  cat "$repo/packaging/deb/copyright"
  echo
  echo "Bundled npm modules (name version: declared license):"
  node -e '
    const fs = require("fs"), path = require("path");
    const seen = new Set();
    const licenseOf = (p) => typeof p.license === "string" ? p.license
      : p.license && p.license.type ? p.license.type
      : Array.isArray(p.licenses) ? p.licenses.map((l) => l.type).join(" OR ") : "see its directory";
    (function walk(dir) {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
        const sub = path.join(dir, entry.name);
        if (entry.name.startsWith("@")) { walk(sub); continue; }
        const manifest = path.join(sub, "package.json");
        if (fs.existsSync(manifest)) {
          const p = JSON.parse(fs.readFileSync(manifest, "utf8"));
          seen.add(` ${p.name} ${p.version}: ${licenseOf(p)}`);
        }
        if (fs.existsSync(path.join(sub, "node_modules"))) walk(path.join(sub, "node_modules"));
      }
    })(process.argv[1]);
    console.log([...seen].sort().join("\n"));
  ' "$app/node_modules"
} > "$root/usr/share/doc/tapflow/copyright"
chmod -R u+rwX,go+rX,go-w "$root"

installed_size_kib=$(du -sk "$root" | cut -f1)
substitute "$repo/packaging/deb/control.in" > "$root/DEBIAN/control"
echo /etc/tapflow/tapflow.json > "$root/DEBIAN/conffiles"
for script in preinst postinst prerm postrm; do
  substitute "$repo/packaging/deb/$script" > "$root/DEBIAN/$script"
  chmod 0755 "$root/DEBIAN/$script"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null

echo "make-release: $tarball ($(du -h "$tarball" | cut -f1))"
echo "make-release: $deb ($(du -h "$deb" | cut -f1)), for Node.js $node_major (module ABI $node_abi)"
