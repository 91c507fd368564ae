#!/usr/bin/env bash
# Inside the overlay on the trixie root (see run.sh). Every check prints
# "PASS: ..." or "FAIL: ..."; logs and the .debs go to $OUT.
set -uo pipefail
SRC=/src/dir7
W=/var/tmp/dir7-packaging
OUT=$W/out
rm -rf "$W"; mkdir -p "$OUT"
VERSION=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$SRC/meson.build" | head -1)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
ID=org.gimp.GIMP.Plugin.Dir7
fails=0 passes=0
pass() { echo "PASS: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; return 1; fi; }
step() { echo "== $* ($(( $(date +%s) - T0 ))s)"; }
T0=$(date +%s)

# ---- the Debian packages ----------------------------------------------------
step "dpkg-buildpackage -us -uc -b (packaging/debian as debian/)"
P=$W/dir7-$VERSION
cp -a "$SRC" "$P"
rm -rf "$P/debian"; cp -a "$SRC/packaging/debian" "$P/debian"
(cd "$P" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) >"$OUT/dpkg-buildpackage.log" 2>&1
rc=$?
grep -E "^ *[0-9]+/[0-9]+ .*(OK|FAIL|SKIP)|^(Ok|Fail|Skipped): " "$OUT/dpkg-buildpackage.log" | sed 's/^/  meson test: /'
check "dpkg-buildpackage builds the packages (log dpkg-buildpackage.log)" [ "$rc" = 0 ]
[ "$rc" = 0 ] || tail -40 "$OUT/dpkg-buildpackage.log"
check "meson test passed inside the package build (dh_auto_test)" \
  grep -qE "^Fail: +0" "$OUT/dpkg-buildpackage.log"
check "the metainfo test ran inside the package build" grep -qE "metainfo +OK" "$OUT/dpkg-buildpackage.log"
DEBS=()
for p in gimp-plugin-dir7 dir7; do DEBS+=("$W/${p}_$VERSION-1_$(dpkg --print-architecture).deb"); done
DEBS+=("$W/dir7-model_$VERSION-1_all.deb")
built=1
for d in "${DEBS[@]}"; do
  check "built $(basename "$d")" [ -f "$d" ] || built=0
done
cp "$W"/*.deb "$W"/*.changes "$W"/*.buildinfo "$OUT/" 2>/dev/null
if [ "$built" = 1 ]; then
  contents() { dpkg-deb -c "$1" 2>/dev/null | awk '{print $6}' | sed 's|^\.||'; }
  has() { contents "$1" | grep -cx "$2" >/dev/null; }
  PLUGDIR=/usr/lib/$MA/gimp/3.0/plug-ins/dir7
  check "gimp-plugin-dir7 has the plug-in in GIMP's system folder" has "${DEBS[0]}" "$PLUGDIR/dir7"
  for l in de es fr zh_CN; do
    check "gimp-plugin-dir7 has the $l catalog" has "${DEBS[0]}" "$PLUGDIR/locale/$l/LC_MESSAGES/gimp30-dir7.mo"
  done
  check "gimp-plugin-dir7 has the metainfo" has "${DEBS[0]}" "/usr/share/metainfo/$ID.metainfo.xml"
  check "dir7 has /usr/bin/dir7" has "${DEBS[1]}" /usr/bin/dir7
  check "dir7-model has the default model" has "${DEBS[2]}" /usr/share/dir7/models/dir7-default.safetensors
  check "each package has its copyright file" bash -c 'for d in "$@"; do p=$(basename "$d"); dpkg-deb -c "$d" | grep -c "/usr/share/doc/${p%%_*}/copyright$" >/dev/null || exit 1; done' - "${DEBS[@]}"
  check "the dir7 package has the manual page" has "${DEBS[1]}" /usr/share/man/man1/dir7.1.gz
  check "no package ships libdir7.so or the header" bash -c '! for d in "$@"; do dpkg-deb -c "$d"; done | grep -E "libdir7\.so|include/dir7"' - "${DEBS[@]}"
  X=$W/x; mkdir -p "$X"; dpkg-deb -x "${DEBS[0]}" "$X"; dpkg-deb -x "${DEBS[1]}" "$X"
  check "the plug-in and the CLI need no libdir7.so" bash -c '! readelf -d "$1$2/dir7" "$1/usr/bin/dir7" | grep -q "libdir7"' - "$X" "$PLUGDIR"
  check "the plug-in looks for the model in /usr/share/dir7/models" \
    grep -qF /usr/share/dir7/models/dir7-default.safetensors "$X$PLUGDIR/dir7"
  for d in "${DEBS[@]}"; do dpkg-deb -I "$d" | sed -n 's/^ \(Package\|Depends\|Installed-Size\): /  &/p'; done

  step "lintian"
  lintian -I --tag-display-limit 0 "$W"/dir7_"$VERSION"-1_*.changes >"$OUT/lintian.log" 2>&1
  grep -v "running with root privileges" "$OUT/lintian.log" | sed 's/^/  /'
  echo "  lintian: $(grep -c '^E:' "$OUT/lintian.log") errors, $(grep -c '^W:' "$OUT/lintian.log") warnings, $(grep -c '^I:' "$OUT/lintian.log") infos"
  check "lintian finds no errors" bash -c '! grep -q "^E:" "$1"' - "$OUT/lintian.log"
fi

# ---- meson install: prefix, DESTDIR, per-user (before the .debs go in) -------
step "meson install to a prefix, with DESTDIR"
B=$W/build; PFX=/opt/dir7-prefix
meson setup "$B" "$SRC" --prefix=$PFX -Dplugin=enabled >"$OUT/meson-prefix.log" 2>&1 &&
  meson compile -C "$B" >>"$OUT/meson-prefix.log" 2>&1 &&
  meson install -C "$B" --destdir "$W/destdir" >>"$OUT/meson-prefix.log" 2>&1
check "meson setup, compile, install --destdir (log meson-prefix.log)" [ $? = 0 ]
sort >"$W/want" <<LIST
$PFX/bin/dir7
$PFX/include/dir7/dir7.h
$PFX/lib/$MA/gimp/3.0/plug-ins/dir7/dir7
$PFX/lib/$MA/gimp/3.0/plug-ins/dir7/locale/de/LC_MESSAGES/gimp30-dir7.mo
$PFX/lib/$MA/gimp/3.0/plug-ins/dir7/locale/es/LC_MESSAGES/gimp30-dir7.mo
$PFX/lib/$MA/gimp/3.0/plug-ins/dir7/locale/fr/LC_MESSAGES/gimp30-dir7.mo
$PFX/lib/$MA/gimp/3.0/plug-ins/dir7/locale/zh_CN/LC_MESSAGES/gimp30-dir7.mo
$PFX/lib/$MA/libdir7.so
$PFX/share/dir7/models/dir7-default.safetensors
$PFX/share/metainfo/$ID.metainfo.xml
LIST
(cd "$W/destdir" && find . ! -type d | sed 's|^\.||' | sort) >"$W/got"
diff -u "$W/want" "$W/got" | sed 's/^/  /'
check "DESTDIR holds exactly the expected $(wc -l <"$W/want") files under $PFX" cmp -s "$W/want" "$W/got"
meson install -C "$B" --quiet >>"$OUT/meson-prefix.log" 2>&1
check "meson install to $PFX" [ -x $PFX/bin/dir7 ]
check "the CLI installed in $PFX finds its model there" bash -c \
  "env -u DIR7_MODEL $PFX/bin/dir7 info | grep -qF 'model file:       $PFX/share/dir7/models/dir7-default.safetensors'"
check "the CLI installed in $PFX generates (no LD_LIBRARY_PATH)" \
  $PFX/bin/dir7 generate "a red apple" --steps 2 --width 16 --height 16 --seed 1 --quiet -o "$W/apple.png"

step "meson install for one user (-Dgimp_plugin_dir=~/.config/GIMP/3.0/plug-ins)"
U=$W/home   # a fake HOME; meson expands the ~ itself
(export HOME=$U
 meson setup --reconfigure "$B" "$SRC" --prefix="$U/.local" \
   -Dgimp_plugin_dir='~/.config/GIMP/3.0/plug-ins' &&
 meson compile -C "$B" && meson install -C "$B") >"$OUT/meson-user.log" 2>&1
check "meson setup --prefix=~/.local -Dgimp_plugin_dir=~/..., install (log meson-user.log)" [ $? = 0 ]
UP=$U/.config/GIMP/3.0/plug-ins/dir7
check "the plug-in is at ~/.config/GIMP/3.0/plug-ins/dir7/dir7" [ -x "$UP/dir7" ]
check "its catalogs are at ~/.config/GIMP/3.0/plug-ins/dir7/locale" [ -f "$UP/locale/de/LC_MESSAGES/gimp30-dir7.mo" ]
check "the model is at ~/.local/share/dir7/models" [ -f "$U/.local/share/dir7/models/dir7-default.safetensors" ]
check "nothing of this install outside the fake HOME" bash -c \
  "! grep -E '^Installing .* to ' '$OUT/meson-user.log' | grep -v ' to $U/'"
HOME=$U bash "$SRC/tests/packaging/smoke.sh" user >"$OUT/smoke-user.log" 2>&1
rc=$?
sed 's/^/  /' "$OUT/smoke-user.log"
check "gimp-console-3.0 finds the per-user plug-in, which finds its model" [ "$rc" = 0 ]

# ---- the installed packages ---------------------------------------------------
step "install the packages"
[ "$built" = 1 ] && dpkg -i "${DEBS[@]}" >"$OUT/dpkg-i.log" 2>&1
check "dpkg -i gimp-plugin-dir7 dir7 dir7-model" [ $? = 0 ]
check "dpkg sees all three installed" bash -c \
  'for p in gimp-plugin-dir7 dir7 dir7-model; do dpkg-query -W -f "\${Status}\n" $p | grep -q "ok installed" || exit 1; done'

step "AppStream metainfo"
# no homepage yet (the TODO in the file): url-homepage-missing is only info
appstreamcli validate --no-net --override=url-homepage-missing=info --pedantic \
  "/usr/share/metainfo/$ID.metainfo.xml" 2>&1 | tee "$OUT/appstream.log" | sed 's/^/  /'
check "appstreamcli validate --no-net (installed metainfo)" [ "${PIPESTATUS[0]}" = 0 ]
check "appstreamcli: no warnings or errors" bash -c '! grep -qE "^[WE]: " "$1"' - "$OUT/appstream.log"
check "the metainfo's newest release is meson's version $VERSION" \
  bash -c "grep -m1 '<release ' '/usr/share/metainfo/$ID.metainfo.xml' | grep -q 'version=\"$VERSION\"'"

step "autopkgtests (debian/tests), run directly"
for t in cli plugin; do
  (cd "$P" && "debian/tests/$t") >"$OUT/autopkgtest-$t.log" 2>&1
  rc=$?
  grep -E "^(PASS|FAIL)|PASSED|FAILED" "$OUT/autopkgtest-$t.log" | sed 's/^/  /'
  check "debian/tests/$t" [ "$rc" = 0 ]
done

step "the plug-in tests against the installed package (tests/plugin/inner.sh)"
DIR7_PLUGIN_INSTALLED=1 SRC=$SRC bash "$SRC/tests/plugin/inner.sh" >"$OUT/plugin-tests.log" 2>&1
rc=$?
mkdir -p "$OUT/plugin"; cp -r /var/tmp/dir7-plugin-test/out/. "$OUT/plugin/" 2>/dev/null
grep -E "^== .*(PASSED|FAILED)|FAIL: |found the plug-in" "$OUT/plugin-tests.log" | sed 's/^/  /'
echo "  plug-in tests: $(grep -c '^PASS: ' "$OUT/plugin-tests.log") checks passed, $(grep -c '^FAIL: ' "$OUT/plugin-tests.log") failed"
check "every plug-in test suite passes against the installed copy (log plugin-tests.log)" [ "$rc" = 0 ]

# ---- Flatpak -----------------------------------------------------------------
step "Flatpak manifest"
python3 "$SRC/tests/packaging/check-flatpak.py" "$SRC" | grep -E "^(PASS|FAIL)" | sed 's/^/  /'
check "the manifest matches the meson project (check-flatpak.py)" [ "${PIPESTATUS[0]}" = 0 ]
(cd "$SRC/packaging/flatpak" && flatpak-builder --show-manifest "$ID.json") >"$OUT/flatpak-manifest.log" 2>&1
check "flatpak-builder --show-manifest parses it" [ $? = 0 ]
check "flatpak-builder printed no warnings" bash -c '! grep -qiE "warning|unknown" "$1"' - "$OUT/flatpak-manifest.log"

step "done"
echo "tests/packaging: $passes checks passed, $fails failed"
exit $(( fails > 0 ))
