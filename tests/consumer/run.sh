#!/usr/bin/env bash
# tests/consumer/run.sh [BUILD_DIR]: nnfuse used from a user's own project, as docs/using-nnfuse.md says.
# Builds and runs the two consumer projects (each trains its own model, declared in its own tree, and fails
# unless the test loss halves), both in their default debug build type:
#   meson, nnfuse as a subproject       (a temporary copy with subprojects/nnfuse -> this tree)
#   meson, nnfuse from a staged install (`meson install --destdir`, PKG_CONFIG_PATH into it)
#   cmake, nnfuse from the staged install (find_package(nnfuse CONFIG), CMAKE_PREFIX_PATH into it)
# and checks that the generated kernels were compiled at -O2 while the consumer's own code was at -O0.
# BUILD_DIR (default build/) is nnfuse's configured build, whose install is staged. Exit status: 0 if all pass.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/nnfuse-consumer.XXXXXX")
trap 'rm -rf "$work"' EXIT
jobs=${NNFUSE_CONSUMER_JOBS:-2}

step() { printf '\n== consumer: %s\n' "$*"; }
# The compile command of the first source matching $2 in compile_commands.json $1 has optimization $3 (its last
# -O flag; "none": no -O flag, as CMake's Debug).
expect_optimization() {
  python3 - "$@" <<'PY'
import json, sys
commands, source, level = sys.argv[1], sys.argv[2], sys.argv[3]
for entry in json.load(open(commands)):
    if entry["file"].endswith(source):
        words = entry.get("command", " ".join(entry.get("arguments", []))).split()
        levels = [w for w in words if w.startswith("-O")] or ["none"]
        if levels[-1] != level:
            sys.exit(f"consumer: {source} is compiled with {levels or 'no -O flag'}, expected {level} last")
        print(f"consumer: {source} compiled with {levels[-1]}")
        sys.exit(0)
sys.exit(f"consumer: {source} not in {commands}")
PY
}
# ninja has nothing left to do in build dir $1 (the generator's depfile names what it read, and matches).
expect_up_to_date() {
  if ninja -C "$1" -n | grep -q '^\['; then
    echo "consumer: $1 is not up to date after a build:" >&2
    ninja -C "$1" -d explain -n 2>&1 | head -5 >&2
    return 1
  fi
}
timed() { local start=$SECONDS; "$@"; echo "consumer: $((SECONDS - start)) s"; }
# ninja -C DIR [TARGET...] with the consumer's jobs: its time on success, its last 40 lines on failure.
build_consumer() {
  local dir=$1 start=$SECONDS
  shift
  if ! ninja -C "$dir" -j "$jobs" "$@" > "$work/ninja.log" 2>&1; then
    tail -n 40 "$work/ninja.log" >&2
    echo "consumer: the build in $dir failed (above: its last lines)" >&2
    return 1
  fi
  echo "consumer: $((SECONDS - start)) s"
}

step "docs/using-nnfuse.md's snippets are the consumer projects' build code"
python3 - "$root" <<'PY'
import re, sys
root = sys.argv[1]
doc = open(f"{root}/docs/using-nnfuse.md").read().split("## What is installed")[0]
for language, project in (("meson", "meson/meson.build"), ("cmake", "cmake/CMakeLists.txt")):
    blocks = re.findall(rf"```{language}\n(.*?)```", doc, re.S)
    build = open(f"{root}/tests/consumer/{project}").read()
    if len(blocks) != 1 or blocks[0] not in build:
        sys.exit(f"consumer: the README section's {language} snippet is not in tests/consumer/{project} verbatim")
    print(f"consumer: the {language} snippet ({blocks[0].count(chr(10))} lines) is tests/consumer/{project}'s")
PY

step "staged install (meson install --destdir)"
# The installed nnfuse.pc and nnfuseConfig.cmake locate the prefix from their own place; build dirs set up
# before pkgconfig.relocatable became a default option get it here.
if ! meson introspect --buildoptions "$build" | python3 -c '
import json, sys
sys.exit(0 if any(o["name"] == "pkgconfig.relocatable" and o["value"] for o in json.load(sys.stdin)) else 1)'; then
  meson configure "$build" -Dpkgconfig.relocatable=true >/dev/null
fi
prefix=$(meson introspect --buildoptions "$build" | python3 -c '
import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
# Only the installed targets are built here (scripts/check has built everything else already).
out=$(meson compile -C "$build" nnfuse_runtime nnfuse_codegen nnfuse-gen 2>&1) || { echo "$out"; exit 1; }
timed meson install -C "$build" --no-rebuild --destdir "$work/stage" > "$work/install.log"
grep -v '/include/nnfuse' "$work/install.log" | sed "s|$work/stage||"
echo "... and $(grep -c '/include/nnfuse' "$work/install.log") headers to $prefix/include/nnfuse"
stage_prefix="$work/stage$prefix"
pc_dir=$(dirname "$(find "$stage_prefix" -name nnfuse.pc | head -1)")
echo "consumer: staged $(find "$work/stage" -type f | wc -l) files under $stage_prefix;" \
  "nnfuse.pc in ${pc_dir#$stage_prefix/}"

step "meson project, nnfuse as a subproject (buildtype debug)"
cp -r "$root/tests/consumer/meson" "$work/meson-sub"
mkdir "$work/meson-sub/subprojects"
ln -s "$root" "$work/meson-sub/subprojects/nnfuse"
meson setup "$work/meson-sub/build" "$work/meson-sub" --force-fallback-for=nnfuse >/dev/null
build_consumer "$work/meson-sub/build" myapp
expect_up_to_date "$work/meson-sub/build"
expect_optimization "$work/meson-sub/build/compile_commands.json" mymodel.gen.cpp -O2
expect_optimization "$work/meson-sub/build/compile_commands.json" mymodel.kernels.gen.cpp -O2
expect_optimization "$work/meson-sub/build/compile_commands.json" /main.cpp -O0
"$work/meson-sub/build/myapp"

step "meson project, nnfuse from the staged install (PKG_CONFIG_PATH)"
PKG_CONFIG_PATH="$pc_dir" meson setup "$work/meson-installed" "$root/tests/consumer/meson" >/dev/null
build_consumer "$work/meson-installed"
expect_up_to_date "$work/meson-installed"
expect_optimization "$work/meson-installed/compile_commands.json" mymodel.gen.cpp -O2
expect_optimization "$work/meson-installed/compile_commands.json" mymodel.kernels.gen.cpp -O2
"$work/meson-installed/myapp"

step "cmake project, nnfuse from the staged install (CMAKE_PREFIX_PATH, CMAKE_BUILD_TYPE=Debug)"
cmake -S "$root/tests/consumer/cmake" -B "$work/cmake" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_PREFIX_PATH="$stage_prefix" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
build_consumer "$work/cmake"
expect_up_to_date "$work/cmake"
expect_optimization "$work/cmake/compile_commands.json" mymodel.gen.cpp -O2
expect_optimization "$work/cmake/compile_commands.json" mymodel.kernels.gen.cpp -O2
expect_optimization "$work/cmake/compile_commands.json" /main.cpp none
"$work/cmake/myapp"

step "all passed"
