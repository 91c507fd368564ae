#!/usr/bin/env bash
# CLI round trip: info, generate, img2img, inpaint, and clear errors with a
# non-zero exit for bad input. Usage: test_cli.sh path/to/dir7 tests/golden
set -u
DIR7=$1
GOLDEN=$2
MODEL=$GOLDEN/tiny-state.safetensors
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0 fail=0

ok () { echo "PASS $1"; pass=$((pass + 1)); }
bad () { echo "FAIL $1"; fail=$((fail + 1)); }

# expect_exit CODE DESCRIPTION PATTERN -- command...: exit code and stderr text
expect_exit () {
  local code=$1 what=$2 pat=$3
  shift 4
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [ "$rc" -eq "$code" ] && { [ -z "$pat" ] || grep -qi -- "$pat" "$TMP/err" "$TMP/out"; }; then
    ok "$what"
  else
    bad "$what (exit $rc, wanted $code; stderr: $(head -c 300 "$TMP/err"))"
  fi
}

png_size () { python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read(33)
assert d[:8] == b'\x89PNG\r\n\x1a\n'
w, h = struct.unpack('>II', d[16:24])
print(f"{w}x{h} type{d[25]}")
PY
}

expect_exit 0 "info prints the config" "CrossWKV state mode" -- "$DIR7" info --model "$MODEL"
expect_exit 0 "generate writes a PNG" "" -- "$DIR7" generate "a red apple" --model "$MODEL" --steps 3 --seed 1 -o "$TMP/a.png" --quiet
[ "$(png_size "$TMP/a.png" 2>/dev/null)" = "16x16 type6" ] && ok "generated PNG is 16x16 RGBA" || bad "generated PNG is 16x16 RGBA ($(png_size "$TMP/a.png" 2>&1))"
"$DIR7" generate "a red apple" --model "$MODEL" --steps 3 --seed 1 -o "$TMP/b.png" --quiet
cmp -s "$TMP/a.png" "$TMP/b.png" && ok "same seed, same image" || bad "same seed, same image"
"$DIR7" generate "a red apple" --model "$MODEL" --steps 3 --seed 2 -o "$TMP/c.png" --quiet
cmp -s "$TMP/a.png" "$TMP/c.png" && bad "another seed, another image" || ok "another seed, another image"
expect_exit 0 "generate at 32x16" "" -- "$DIR7" generate -p "wide" --model "$MODEL" --steps 2 --width 32 --height 16 -o "$TMP/w.png" --quiet
[ "$(png_size "$TMP/w.png" 2>/dev/null)" = "32x16 type6" ] && ok "wide PNG is 32x16" || bad "wide PNG is 32x16"
expect_exit 0 "img2img" "" -- "$DIR7" img2img "a green apple" --init "$TMP/a.png" --strength 0.5 --model "$MODEL" --steps 4 -o "$TMP/i.png" --quiet
[ -s "$TMP/i.png" ] && ok "img2img wrote its output" || bad "img2img wrote its output"
expect_exit 0 "inpaint" "" -- "$DIR7" inpaint "a pear" --init "$TMP/a.png" --mask "$TMP/a.png" --model "$MODEL" --steps 3 -o "$TMP/p.png" --quiet
for s in ddpm ddim dpmpp-2m; do
  expect_exit 0 "sampler $s" "" -- "$DIR7" generate x --sampler $s --model "$MODEL" --steps 2 -o "$TMP/s.png" --quiet
done

# bad input: clear message, non-zero exit, no output file left behind
expect_exit 1 "missing model file" "no such file\|not found\|does not exist\|cannot open\|failed to open" -- "$DIR7" generate x --model "$TMP/none.safetensors" -o "$TMP/x.png" --quiet
head -c 1000 "$MODEL" > "$TMP/trunc.safetensors"
expect_exit 1 "truncated model file" "past the end\|beyond\|truncated\|header" -- "$DIR7" generate x --model "$TMP/trunc.safetensors" -o "$TMP/x.png" --quiet
printf 'not a model at all' > "$TMP/junk.safetensors"
expect_exit 1 "garbage model file" "header\|json\|model" -- "$DIR7" info --model "$TMP/junk.safetensors"
[ -e "$TMP/x.png" ] && bad "no output after a failure" || ok "no output after a failure"
expect_exit 1 "size not a multiple of the step" "size\|multiple" -- "$DIR7" generate x --model "$MODEL" --width 17 --height 16 -o "$TMP/x.png" --quiet
expect_exit 2 "steps out of range" "steps" -- "$DIR7" generate x --model "$MODEL" --steps 0 -o "$TMP/x.png"
expect_exit 2 "unknown sampler" "sampler" -- "$DIR7" generate x --model "$MODEL" --sampler euler -o "$TMP/x.png"
expect_exit 2 "img2img without --init" "init" -- "$DIR7" img2img x --model "$MODEL" -o "$TMP/x.png"
expect_exit 1 "init image that is not a PNG" "png\|read\|image" -- "$DIR7" img2img x --init "$TMP/junk.safetensors" --model "$MODEL" -o "$TMP/x.png"
expect_exit 2 "unknown subcommand" "usage\|unknown\|command" -- "$DIR7" frobnicate

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
