#!/usr/bin/env bash
# GUI tests of the DIR-7 plug-in in the real GIMP 3 under Xvfb, driven through
# GIMP's Script-Fu server and xdotool: undo with Ctrl+Z (the PDB has no undo),
# the dialog (screenshots), Generate, Cancel while running, Repeat (last values).
# Runs inside the trixie root; usage: gui-tests.sh MODEL OUTDIR
set -euo pipefail
MODEL=$1 OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
PORT=$(( 20000 + $$ % 20000 ))
mkdir -p "$OUT"

fail=0
pass() { echo "PASS: $*"; }
failed() { echo "FAIL: $*"; fail=1; }
sf() { python3 "$HERE/sf-client.py" "$PORT" "$1" "${2:-120}"; }
# Script-Fu v3 dialect for every command (the server starts in v2)
sf3() { sf "(begin (script-fu-use-v3) $1)" "${2:-120}"; }
layers() { sf3 "(vector-length (gimp-image-get-layers t-img))"; }

# Xvfb and GIMP run in their own process groups so that everything they
# started (GIMP's plug-ins) ends with them
groups=()
cleanup() {
  for g in "${groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
  sleep 2
  for g in "${groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
}
trap cleanup EXIT

# Xvfb writes the display number it chose to fd 7. Once in a clean-clone CI run it
# wrote none within 20 s and the rerun passed: up to three tries of 30 s each
start_xvfb() {
  exec 7<> <(:)
  setsid Xvfb -displayfd 7 -screen 0 1280x900x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
  groups+=($!)
  read -r -t 30 dpy <&7
}
dpy=
for try in 1 2 3; do
  start_xvfb && break
  echo "gui-tests: Xvfb gave no display within 30 s (try $try of 3)"; cat "$OUT/xvfb.log"
  kill -KILL -- "-${groups[-1]}" 2>/dev/null || true
  dpy=
done
[ -n "$dpy" ] || { echo "gui-tests: Xvfb did not start"; exit 1; }
export DISPLAY=":$dpy"

setsid gimp-3.0 -n -s -d -f --batch-interpreter=plug-in-script-fu-eval \
  -b "(plug-in-script-fu-server RUN-NONINTERACTIVE \"127.0.0.1\" $PORT \"$OUT/script-fu-server.log\")" \
  >"$OUT/gimp-gui.log" 2>&1 &
groups+=($!)
sf '(+ 1 1)' 180 >/dev/null || { echo "gui-tests: GIMP's Script-Fu server did not start"; tail -30 "$OUT/gimp-gui.log"; exit 1; }
echo "gui-tests: GIMP is up"

# the window whose title contains $1 (no window manager: focus by hand)
focus() {
  local id
  id=$(timeout 30 xdotool search --sync --onlyvisible --limit 1 --name "$1" 2>/dev/null | head -1)
  [ -n "$id" ] || return 1
  xdotool windowfocus --sync "$id" 2>/dev/null || xdotool windowfocus "$id"
  echo "$id"
}

# press _Generate in the dialog titled $1 and wait until the dialog closes;
# without a window manager a key can land before the dialog has focus, so a
# dialog still open after 30 s gets the key again (twice at most)
generate_in() {
  local try
  for try in 1 2 3; do
    focus "$1" >/dev/null || return 0   # closed already (answered)
    sleep 1
    xdotool key --clearmodifiers alt+g
    for _ in $(seq 30); do
      xdotool search --onlyvisible --name "$1" >/dev/null 2>&1 || return 0
      sleep 1
    done
    echo "gui-tests: '$1' still open after _Generate (try $try)"
  done
}

# an image on screen: 100x80 (the test model runs at most at 64 px: scaled)
sf3 "(begin
  (define t-img (gimp-image-new 100 80 RGB))
  (define t-bg (gimp-layer-new t-img \"base\" 100 80 RGB-IMAGE 100 LAYER-MODE-NORMAL))
  (gimp-image-insert-layer t-img t-bg 0 0)
  (gimp-context-set-background '(240 240 230))
  (gimp-drawable-fill t-bg FILL-BACKGROUND)
  (gimp-image-clean-all t-img)
  (define t-disp (gimp-display-new t-img))
  (gimp-displays-flush))" >/dev/null
sleep 2

# ---- (5) undo: one Ctrl+Z removes the generated layer (scaled: several ops) --
sf3 "(plug-in-dir7-generate #:run-mode RUN-NONINTERACTIVE #:image t-img #:prompt \"undo me\"
       #:steps 2 #:seed 9 #:model \"$MODEL\")" >/dev/null
n=$(layers)
[ "$n" = 2 ] && pass "gui: generate added a layer (2 layers)" || failed "gui: expected 2 layers, got $n"
win=$(focus "Untitled") || { failed "gui: no image window"; win=; }
xdotool key --clearmodifiers ctrl+z
sleep 1
n=$(layers)
name=$(sf3 "(gimp-item-get-name (vector-ref (gimp-image-get-layers t-img) 0))")
[ "$n" = 1 ] && [ "$name" = '"base"' ] && pass "gui: one Ctrl+Z removes the new layer, the original stays" \
  || failed "gui: after Ctrl+Z: $n layers, top '$name'"
xdotool key --clearmodifiers ctrl+y
sleep 1
n=$(layers)
[ "$n" = 2 ] && pass "gui: Ctrl+Y (redo) brings it back in one step" || failed "gui: after redo: $n layers"
xdotool key --clearmodifiers ctrl+z
sleep 1

# ---- the dialog ----------------------------------------------------------------
# RUN-INTERACTIVE blocks the server until the dialog is done: run it in the
# background, drive the dialog with xdotool, then collect the answer.
open_dialog() {  # $1: extra named arguments, $2: answer file
  sf3 "(plug-in-dir7-generate #:run-mode RUN-INTERACTIVE #:image t-img #:model \"$MODEL\" $1)" 600 \
    >"$2" 2>&1 &
  client=$!
}
answer() { if wait "$client"; then rc=0; else rc=$?; fi; }

# as it opens (the whole 100x80 image: the note says the result is scaled)
open_dialog "#:prompt \"a lighthouse on a cliff at dusk, oil painting\" #:negative-prompt \"blurry\"" \
  "$OUT/dialog-1.txt"
if dlg=$(focus "DIR-7: Image from Text"); then
  sleep 2
  import -window "$dlg" "$OUT/plugin-dialog.png" && pass "gui: dialog screenshot taken"
  xdotool key --clearmodifiers Escape
else
  failed "gui: the dialog did not open"
fi
answer
n=$(layers)
[ "$n" = 1 ] && pass "gui: closing the dialog changes nothing (answer: $(cat "$OUT/dialog-1.txt"))" \
  || failed "gui: after closing the dialog: $n layers"

# running: live preview and progress, then Cancel while the model works
open_dialog "#:prompt \"a lighthouse\" #:steps 400 #:width 32 #:height 24" "$OUT/dialog-2.txt"
if dlg=$(focus "DIR-7: Image from Text"); then
  sleep 1
  xdotool key --clearmodifiers alt+g        # _Generate
  sleep 10
  import -window "$dlg" "$OUT/plugin-dialog-running.png" && pass "gui: running-dialog screenshot taken"
  xdotool key --clearmodifiers Escape       # Cancel
else
  failed "gui: the dialog did not open"
fi
t0=$(date +%s)
answer
took=$(( $(date +%s) - t0 ))
# 400 steps take minutes: a prompt answer means the model really stopped
[ "$took" -le 20 ] && pass "gui: Cancel stops the running model (answered in ${took}s)" \
  || failed "gui: Cancel took ${took}s"
n=$(layers)
[ "$n" = 1 ] && pass "gui: Cancel while the model runs leaves the image unchanged (answer: $(cat "$OUT/dialog-2.txt"))" \
  || failed "gui: after cancel: $n layers"

# ---- Generate for real, then Repeat (RUN-WITH-LAST-VALS) -----------------------
open_dialog "#:prompt \"a lighthouse\" #:steps 3 #:width 32 #:height 24" "$OUT/dialog-3.txt"
generate_in "DIR-7: Image from Text"
answer
n=$(layers)
[ "$rc" = 0 ] && [ "$n" = 2 ] && pass "gui: Generate in the dialog adds a layer" \
  || failed "gui: dialog Generate: answer $rc ($(cat "$OUT/dialog-3.txt")), $n layers"
sf3 "(plug-in-dir7-generate #:run-mode RUN-WITH-LAST-VALS #:image t-img)" >/dev/null \
  || failed "gui: RUN-WITH-LAST-VALS failed"
name=$(sf3 "(gimp-item-get-name (vector-ref (gimp-image-get-layers t-img) 0))")
n=$(layers)
case "$name" in
  '"a lighthouse (seed '*) [ "$n" = 3 ] && pass "gui: Repeat reuses the dialog's values ($name)" \
                            || failed "gui: Repeat: $n layers";;
  *) failed "gui: Repeat made '$name'";;
esac

# ---- img2img and inpaint dialogs on a 32x24 selection --------------------------
sf3 "(gimp-image-select-ellipse t-img CHANNEL-OP-REPLACE 20 20 32 24)" >/dev/null
for proc in img2img:"Image to Image":4 inpaint:"Inpaint Selection":5; do
  IFS=: read -r name title want <<<"$proc"
  sf3 "(plug-in-dir7-$name #:run-mode RUN-INTERACTIVE #:image t-img #:drawables (vector t-bg)
         #:prompt \"a red door\" #:steps 2 #:model \"$MODEL\")" 120 >"$OUT/dialog-$name.txt" 2>&1 &
  client=$!
  if dlg=$(focus "DIR-7: $title"); then
    sleep 1
    import -window "$dlg" "$OUT/plugin-dialog-$name.png" || true
    generate_in "DIR-7: $title"
  fi
  answer
  n=$(layers)
  [ "$rc" = 0 ] && [ "$n" = "$want" ] && pass "gui: the $name dialog adds a layer" \
    || failed "gui: $name dialog: answer $rc ($(cat "$OUT/dialog-$name.txt")), $n layers"
done

sf "(gimp-quit 1)" 10 >/dev/null 2>&1 || true
[ "$fail" = 0 ] && echo "ALL GUI TESTS PASSED"
exit "$fail"
