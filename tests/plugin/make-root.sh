#!/usr/bin/env bash
# Build (once) a Debian 13 "trixie" root with GIMP 3 and the build tools, for
# the plug-in tests: GIMP 3 is not packaged for Debian 12. The root lives
# outside the clone and is reused while its package list is unchanged.
set -euo pipefail
ROOT=${1:?usage: make-root.sh ROOT}
MIRROR=${DIR7_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PKGS="gimp libgimp-3.0-dev build-essential meson ninja-build pkg-config
  libglib2.0-dev libjson-glib-dev libpng-dev gettext xvfb xauth imagemagick
  fonts-dejavu-core locales xdotool"
STAMP="$ROOT/.dir7-root-ready"
want=$(echo $PKGS | md5sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "make-root: reusing $ROOT"; exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "make-root: needs root (debootstrap, chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
start=$(date +%s)
if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  rm -rf "$ROOT"; mkdir -p "$(dirname "$ROOT")"
  debootstrap --variant=minbase trixie "$ROOT.tmp" "$MIRROR"
  mv "$ROOT.tmp" "$ROOT"
fi
if ! mountpoint -q "$ROOT/proc"; then
  mount -t proc proc "$ROOT/proc"
  trap 'umount "$ROOT/proc" 2>/dev/null || true' EXIT
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive LC_ALL=C sh -ec "
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $(echo $PKGS) >/dev/null
  sed -i 's/^# *\(de_DE.UTF-8\)/\1/; s/^# *\(en_US.UTF-8\)/\1/' /etc/locale.gen
  locale-gen >/dev/null
  apt-get clean"
echo "$want" > "$STAMP"
echo "make-root: built $ROOT in $(( $(date +%s) - start ))s"
