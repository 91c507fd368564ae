#!/usr/bin/env bash
# Inside the trixie root (see run.sh): build and install the whole project with
# the plug-in, point a fresh GIMP profile at it, run every plug-in test.
# Writes logs and screenshots to $OUT. Exit status: number of failed suites.
# DIR7_PLUGIN_INSTALLED=1 (tests/packaging): build nothing, test the copy that
# is installed in GIMP's system plug-in folder (the Debian package) with
# GIMP's default plug-in path.
set -euo pipefail
INSTALLED=${DIR7_PLUGIN_INSTALLED:-0}
SRC=${SRC:-/src/dir7}
BUILD=${BUILD:-/var/tmp/dir7-plugin-build}
PREFIX=/opt/dir7
W=/var/tmp/dir7-plugin-test
OUT=$W/out
MODEL=$SRC/tests/golden/tiny-state.safetensors
rm -rf "$W"
mkdir -p "$OUT"

if [ "$INSTALLED" = 1 ]; then
  echo "== the installed plug-in (GIMP's system plug-in folder)"
  PLUGINS=$(pkg-config --variable=gimplibdir gimp-3.0)/plug-ins
else
  echo "== build (meson, -Dplugin=enabled) and install to $PREFIX"
  if [ -f "$BUILD/build.ninja" ]; then
    meson setup --reconfigure "$BUILD" "$SRC" --prefix="$PREFIX" -Dplugin=enabled >"$OUT/meson-setup.log"
  else
    meson setup "$BUILD" "$SRC" --prefix="$PREFIX" --buildtype=release -Dplugin=enabled >"$OUT/meson-setup.log"
  fi
  meson compile -C "$BUILD" >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
  grep -E "warning:" "$OUT/build.log" | grep -E "plugin/|ui/" && { echo "plug-in compiler warnings"; exit 1; } || true
  rm -rf "$PREFIX"
  meson install -C "$BUILD" --quiet
  PLUGINS=$(pkg-config --define-variable=prefix="$PREFIX" --variable=gimplibdir gimp-3.0)/plug-ins
fi
[ -x "$PLUGINS/dir7/dir7" ] || { echo "FAIL: plug-in not installed at $PLUGINS/dir7/dir7"; exit 1; }
for l in de es fr zh_CN; do
  [ -f "$PLUGINS/dir7/locale/$l/LC_MESSAGES/gimp30-dir7.mo" ] || { echo "FAIL: no $l catalog"; exit 1; }
done
echo "PASS: installed $PLUGINS/dir7/dir7 with de, es, fr, zh_CN catalogs"

# a fresh GIMP profile that looks for plug-ins in GIMP's folder and ours
profile() {
  rm -rf "$W/$1"
  mkdir -p "$W/$1/config/GIMP/3.0" "$W/$1/cache" "$W/$1/data"
  if [ "$INSTALLED" = 1 ]; then
    echo "(show-welcome-dialog no)" >"$W/$1/config/GIMP/3.0/gimprc"
  else
    cat >"$W/$1/config/GIMP/3.0/gimprc" <<EOF
(plug-in-path "\${gimp_plug_in_dir}/plug-ins:$PLUGINS")
(show-welcome-dialog no)
EOF
  fi
  echo "HOME=$W/$1 XDG_CONFIG_HOME=$W/$1/config XDG_CACHE_HOME=$W/$1/cache XDG_DATA_HOME=$W/$1/data"
}
console() {  # console PROFILE INTERPRETER COMMAND [ENV...]
  local p=$1 interp=$2 cmd=$3; shift 3
  env $(profile "$p") "$@" timeout 900 gimp-console-3.0 -i -d -f --quit \
    --batch-interpreter="$interp" -b "$cmd"
}

failed=0
suite() {  # suite NAME LOG MARKER: rc of the last command, then the marker
  local rc=$1 name=$2 log=$3 marker=$4
  grep -E "^(PASS|FAIL): " "$log" || true
  if [ "$rc" = 0 ] && grep -q "$marker" "$log" && ! grep -q "^FAIL: " "$log"; then
    echo "== $name: PASSED"
  else
    echo "== $name: FAILED (exit $rc; log $log)"
    tail -25 "$log"
    failed=$((failed + 1))
  fi
}

echo "== PDB documentation (python-fu-eval)"
set +e
console docs python-fu-eval "exec(open('$SRC/tests/plugin/pdb-docs.py').read())" >"$OUT/pdb-docs.log" 2>&1
suite $? "PDB documentation" "$OUT/pdb-docs.log" "ALL PDB DOC TESTS PASSED"
if [ "$INSTALLED" = 1 ]; then  # GIMP registered exactly the system folder's copy
  defs=$(grep -o '(plug-in-def "[^"]*/dir7/dir7"' "$W/docs/config/GIMP/3.0/pluginrc" || true)
  if [ "$defs" = '(plug-in-def "${gimp_plug_in_dir}/plug-ins/dir7/dir7"' ]; then
    echo "PASS: GIMP found the plug-in in its system folder: $defs"
  else
    echo "FAIL: the plug-in GIMP registered: ${defs:-none}"; failed=$((failed + 1))
  fi
fi

echo "== German catalog"
console de python-fu-eval "exec(open('$SRC/tests/plugin/pdb-docs.py').read())" \
  LANG=de_DE.UTF-8 LANGUAGE=de DIR7_EXPECT_LANG=de >"$OUT/pdb-docs-de.log" 2>&1
suite $? "German menu labels" "$OUT/pdb-docs-de.log" "ALL PDB DOC TESTS PASSED"

echo "== Script-Fu batch tests (gimp-console-3.0)"
head -c 4096 "$MODEL" >"$W/corrupt.safetensors"  # a truncated model file
console batch plug-in-script-fu-eval "(begin (define dir7-model \"$MODEL\")
  (define dir7-corrupt \"$W/corrupt.safetensors\")
  (load \"$SRC/tests/plugin/batch-tests.scm\"))" >"$OUT/batch.log" 2>&1
suite $? "Script-Fu batch tests" "$OUT/batch.log" "ALL BATCH TESTS PASSED"

echo "== out of memory (gimp-console-3.0 under ulimit -v 3 GB)"
(ulimit -v 3000000
 console oom plug-in-script-fu-eval "(begin (define dir7-model \"$MODEL\")
   (load \"$SRC/tests/plugin/oom-test.scm\"))") >"$OUT/oom.log" 2>&1
suite $? "Out of memory" "$OUT/oom.log" "OOM TEST DONE"

echo "== GUI tests (gimp-3.0 under Xvfb)"
env $(profile gui) timeout 900 bash "$SRC/tests/plugin/gui-tests.sh" "$MODEL" "$OUT/gui" >"$OUT/gui.log" 2>&1
suite $? "GUI tests" "$OUT/gui.log" "ALL GUI TESTS PASSED"
set -e

exit "$failed"
