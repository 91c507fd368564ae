#!/bin/sh
# Smoke test of an installed DIR-7 plug-in in gimp-console-3.0: GIMP finds it
# with its default plug-in path and it finds the installed default model.
#   smoke.sh system   the Debian package: a fresh profile in a temporary HOME;
#                     GIMP must register ${gimp_plug_in_dir}/plug-ins/dir7/dir7
#   smoke.sh user     the per-user install in the current $HOME; GIMP must
#                     register ${gimp_dir}/plug-ins/dir7/dir7
# Used by debian/tests/plugin and tests/packaging/inner.sh. Exit 0 = passed.
set -eu
MODE=${1:?usage: smoke.sh system|user}
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
case $MODE in
  system) export HOME="$T/home"; want='${gimp_plug_in_dir}/plug-ins/dir7/dir7' ;;
  user) want='${gimp_dir}/plug-ins/dir7/dir7' ;;
  *) echo "smoke.sh: system or user" >&2; exit 2 ;;
esac
unset DIR7_MODEL XDG_DATA_HOME || true
export XDG_CONFIG_HOME="$HOME/.config" XDG_CACHE_HOME="$T/cache"
mkdir -p "$XDG_CONFIG_HOME/GIMP/3.0"
[ -f "$XDG_CONFIG_HOME/GIMP/3.0/gimprc" ] ||
  echo "(show-welcome-dialog no)" >"$XDG_CONFIG_HOME/GIMP/3.0/gimprc"
rc=0
timeout 600 gimp-console-3.0 -i -d -f --quit --batch-interpreter=plug-in-script-fu-eval \
  -b "(load \"$HERE/smoke.scm\")" >"$T/log" 2>&1 || rc=$?
grep -E "^(PASS|FAIL): |no model file|not a usable" "$T/log" || true
defs=$(grep -o '(plug-in-def "[^"]*/dir7/dir7"' "$XDG_CONFIG_HOME/GIMP/3.0/pluginrc" 2>/dev/null || true)
if [ "$defs" = "(plug-in-def \"$want\"" ]; then
  echo "PASS: GIMP registered $want"
else
  echo "FAIL: GIMP registered ${defs:-no dir7 plug-in}, wanted $want"; rc=1
fi
if [ "$rc" = 0 ] && grep -q "DIR7 SMOKE DONE" "$T/log" && ! grep -q "^FAIL: " "$T/log"; then
  echo "smoke ($MODE): PASSED"
else
  echo "smoke ($MODE): FAILED (gimp-console exit $rc)"; tail -20 "$T/log"; exit 1
fi
