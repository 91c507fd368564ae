#!/usr/bin/env bash
# Packaging tests, in the Debian 13 "trixie" root of the plug-in tests
# (tests/plugin/make-root.sh): build the Debian packages with
# dpkg-buildpackage, install them, run the plug-in tests against the installed
# copy, validate the AppStream metainfo, check the Flatpak manifest, and test
# `meson install` to a prefix and to the per-user GIMP plug-in folder.
# Needs root (chroot, mount).
#
# Everything runs in an overlay on the cached root, thrown away at the end:
# the root itself only gains the packaging tools (debhelper, appstream,
# lintian, flatpak-builder and the Build-Depends), installed once.
#
# Environment: DIR7_TRIXIE_ROOT (default /var/cache/dir7-ci/trixie-root),
# DIR7_ARTIFACTS (default build-packaging-tests/ in the clone: logs, .debs).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=${DIR7_TRIXIE_ROOT:-/var/cache/dir7-ci/trixie-root}
ARTIFACTS=${DIR7_ARTIFACTS:-$REPO/build-packaging-tests}
[ "$(id -u)" -eq 0 ] || { echo "tests/packaging/run.sh: needs root (chroot, mount)" >&2; exit 1; }

mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"
flock -w 3600 9 || { echo "tests/packaging/run.sh: $ROOT is busy" >&2; exit 1; }

t0=$(date +%s)
"$REPO/tests/plugin/make-root.sh" "$ROOT"

# the packaging tools and the Build-Depends of packaging/debian/control, once
# per change of either (apt-get build-dep reads the control file)
TOOLS="debhelper appstream lintian flatpak-builder"
STAMP="$ROOT/.dir7-packaging-ready"
want=$( (echo $TOOLS; cat "$REPO/packaging/debian/control") | md5sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  t1=$(date +%s)
  ours=0
  mountpoint -q "$ROOT/proc" || { mount -t proc proc "$ROOT/proc"; ours=1
    trap 'umount "$ROOT/proc" 2>/dev/null || true' EXIT; }
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
  rm -rf "$ROOT/var/tmp/dir7-build-deps"
  mkdir -p "$ROOT/var/tmp/dir7-build-deps/debian"
  cp "$REPO/packaging/debian/control" "$ROOT/var/tmp/dir7-build-deps/debian/"
  chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive LC_ALL=C sh -ec "
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $TOOLS >/dev/null
    apt-get build-dep -y -qq --no-install-recommends /var/tmp/dir7-build-deps >/dev/null
    apt-get clean"
  rm -rf "$ROOT/var/tmp/dir7-build-deps"
  [ "$ours" = 0 ] || { umount "$ROOT/proc"; trap - EXIT; }
  echo "$want" >"$STAMP"
  echo "tests/packaging: packaging tools installed in $(( $(date +%s) - t1 ))s"
fi
echo "tests/packaging: root ready in $(( $(date +%s) - t0 ))s"

# a throw-away overlay: the .debs, the per-user install and the meson prefix
# never reach the cached root (the plug-in tests must not see them)
WORK=$(mktemp -d /var/tmp/dir7-packaging.XXXXXX)
M=$WORK/merged
mkdir -p "$WORK/upper" "$WORK/work" "$M"
cleanup() {
  umount -R "$M/dev" 2>/dev/null || umount -R -l "$M/dev" 2>/dev/null || true
  umount "$M/proc" 2>/dev/null || umount -l "$M/proc" 2>/dev/null || true
  umount "$M" 2>/dev/null || umount -l "$M" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mount -t overlay overlay -o "lowerdir=$ROOT,upperdir=$WORK/upper,workdir=$WORK/work" "$M"
mount -t proc proc "$M/proc"
mount --rbind /dev "$M/dev"; mount --make-rslave "$M/dev"

# the working tree as git sees it (tracked and new files, not ignored ones)
rm -rf "$M/src/dir7"
mkdir -p "$M/src/dir7"
(cd "$REPO" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$M/src/dir7"

set +e
timeout 3000 chroot "$M" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root LANG=C.UTF-8 TERM=dumb bash /src/dir7/tests/packaging/inner.sh
rc=$?
set -e

rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"
cp -r "$M/var/tmp/dir7-packaging/out/." "$ARTIFACTS/" 2>/dev/null || true
echo "tests/packaging: logs and packages in $ARTIFACTS"
echo "tests/packaging: $([ "$rc" = 0 ] && echo PASSED || echo "FAILED ($rc)") in $(( $(date +%s) - t0 ))s"
exit "$rc"
