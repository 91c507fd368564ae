#!/usr/bin/env bash
# Plug-in tests with the real GIMP 3. GIMP 3 is packaged only from Debian 13
# (trixie), so they run in a trixie root built once by make-root.sh and cached
# outside the clone. Needs root (debootstrap, chroot, mount).
#
#   tests/plugin/run.sh            build the root if needed, build + test
#
# Environment: DIR7_TRIXIE_ROOT (default /var/cache/dir7-ci/trixie-root),
# DIR7_ARTIFACTS (default build-plugin-tests/ in the clone: logs, screenshots),
# DIR7_UPDATE_DOCS=1 also copies the dialog screenshot to docs/plugin-dialog.png.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=${DIR7_TRIXIE_ROOT:-/var/cache/dir7-ci/trixie-root}
ARTIFACTS=${DIR7_ARTIFACTS:-$REPO/build-plugin-tests}
[ "$(id -u)" -eq 0 ] || { echo "tests/plugin/run.sh: needs root (chroot, mount)" >&2; exit 1; }

mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"
flock -w 3600 9 || { echo "tests/plugin/run.sh: $ROOT is busy" >&2; exit 1; }

t0=$(date +%s)
"$REPO/tests/plugin/make-root.sh" "$ROOT"
echo "tests/plugin: root ready in $(( $(date +%s) - t0 ))s"

mounted=()
cleanup() {
  local i
  for (( i=${#mounted[@]}-1; i>=0; i-- )); do
    umount -R "${mounted[$i]}" 2>/dev/null || umount -R -l "${mounted[$i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT
mountpoint -q "$ROOT/proc" || { mount -t proc proc "$ROOT/proc"; mounted+=("$ROOT/proc"); }
mountpoint -q "$ROOT/dev" || { mount --rbind /dev "$ROOT/dev"; mount --make-rslave "$ROOT/dev"; mounted+=("$ROOT/dev"); }

# the working tree as git sees it (tracked and new files, not ignored ones)
rm -rf "$ROOT/src/dir7"
mkdir -p "$ROOT/src/dir7"
(cd "$REPO" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$ROOT/src/dir7"
if ! grep -q "subdir('plugin')" "$ROOT/src/dir7/meson.build"; then
  echo "tests/plugin: WARNING: meson.build has no subdir('plugin') / subdir('po') yet;" \
       "testing a copy with them added after subdir('cli')" >&2
  sed -i "s/^subdir('cli')$/subdir('cli')\nsubdir('plugin')\nsubdir('po')/" "$ROOT/src/dir7/meson.build"
fi

set +e
timeout 2400 chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root LANG=C.UTF-8 TERM=dumb bash /src/dir7/tests/plugin/inner.sh
rc=$?
set -e

rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"
cp -r "$ROOT/var/tmp/dir7-plugin-test/out/." "$ARTIFACTS/" 2>/dev/null || true
echo "tests/plugin: logs and screenshots in $ARTIFACTS"
if [ "${DIR7_UPDATE_DOCS:-0}" = 1 ] && [ -f "$ARTIFACTS/gui/plugin-dialog.png" ]; then
  cp "$ARTIFACTS/gui/plugin-dialog.png" "$REPO/docs/plugin-dialog.png"
  cp "$ARTIFACTS/gui/plugin-dialog-running.png" "$REPO/docs/plugin-dialog-running.png"
fi
echo "tests/plugin: $([ "$rc" = 0 ] && echo PASSED || echo "FAILED ($rc)") in $(( $(date +%s) - t0 ))s"
exit "$rc"
