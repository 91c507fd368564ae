#!/usr/bin/env python3
"""Checks packaging/flatpak/org.gimp.GIMP.Plugin.Dir7.json against the meson
project and the metainfo file: it cannot be built without Flathub, so this is
what CI can prove. Usage: check-flatpak.py SOURCE_TREE. Prints PASS/FAIL lines."""
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

src = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
path = os.path.join(src, "packaging/flatpak/org.gimp.GIMP.Plugin.Dir7.json")
fails = 0


def check(name, ok, detail=""):
    global fails
    print(("PASS: " if ok else "FAIL: ") + "flatpak: " + name + (" (" + detail + ")" if detail else ""))
    fails += not ok


m = json.load(open(path))
check("the manifest is JSON", True)
ext_id = "org.gimp.GIMP.Plugin.Dir7"
check("id is the file name", m.get("id") == ext_id == os.path.basename(path)[:-5], m.get("id"))
check("extends org.gimp.GIMP, plug-in branch 3",
      m.get("runtime") == "org.gimp.GIMP" and m.get("branch") == "3" and m.get("build-extension") is True)
prefix = m["build-options"]["prefix"]
check("prefix is /app/extensions/<last part of the id>", prefix == "/app/extensions/" + ext_id.split(".")[-1], prefix)

meta = ET.parse(os.path.join(src, "packaging", ext_id + ".metainfo.xml")).getroot()
check("metainfo id and type", meta.findtext("id") == ext_id and meta.get("type") == "addon"
      and meta.findtext("extends") == "org.gimp.GIMP")
version = re.search(r"version\s*:\s*'([^']+)'", open(os.path.join(src, "meson.build")).read()).group(1)
releases = [r.get("version") for r in meta.iter("release")]
check("the newest metainfo release is meson's version", releases[:1] == [version], f"{releases[:1]} vs {version}")

mod = [x for x in m["modules"] if isinstance(x, dict) and x.get("name") == "dir7"]
check("one dir7 module built with meson", len(mod) == 1 and mod[0].get("buildsystem") == "meson")
mod = mod[0]
options = set(re.findall(r"option\('([^']+)'", open(os.path.join(src, "meson_options.txt")).read()))
opts = dict(o[2:].split("=", 1) for o in mod.get("config-opts", []) if o.startswith("-D"))
unknown = [o for o in opts if o not in options and o not in ("buildtype", "prefix", "libdir")]
check("every -D option exists in meson_options.txt", not unknown, " ".join(unknown))
check("the plug-in is required", opts.get("plugin") == "enabled")
check("the plug-in goes to <prefix>/plug-ins (merged by GIMP's extension point)",
      opts.get("gimp_plugin_dir") == prefix + "/plug-ins", opts.get("gimp_plugin_dir", ""))
dirs = [s["path"] for s in mod.get("sources", []) if s.get("type") == "dir"]
check("the dir source is the top of the source tree",
      len(dirs) == 1 and os.path.isfile(os.path.join(os.path.dirname(path), dirs[0], "meson.build"))
      and os.path.samefile(os.path.join(os.path.dirname(path), dirs[0]), src), " ".join(dirs))
kept = [c for c in mod.get("cleanup", []) if c.startswith("/share")]
check("the model and the metainfo are not cleaned up", not kept, " ".join(kept))
for cmd in mod.get("post-install", []):  # install [-Dm644] -t DEST FILE...: the files exist
    words = cmd.split()
    if words[0] == "install" and "-t" in words:
        files = [w for w in words[words.index("-t") + 2:]]
        check("post-install installs files of the tree: " + " ".join(files),
              files and all(os.path.isfile(os.path.join(src, f)) for f in files))
print("flatpak checks failed: %d" % fails)
sys.exit(1 if fails else 0)
