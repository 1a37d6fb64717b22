# Shared set-up for scripts/quickstart and scripts/check (sourced, not run).
# Ensures: every Debian package nnfuse needs is installed (apt-get, only what is missing),
# and build/ is configured. Prints nothing when there is nothing to do.

nnfuse_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
nnfuse_build="$nnfuse_root/build"

nnfuse_packages=(
  g++ meson ninja-build pkg-config cmake
  libhwy-dev libfmt-dev libboost-dev catch2 zlib1g-dev libcsv-dev libcli11-dev
  libbenchmark-dev openmpi-bin libopenmpi-dev
  clang libclang-rt-14-dev
  nlohmann-json3-dev python3-numpy
  python3-sklearn
  dataset-fashion-mnist
  gnuplot-nox
  clang-format
)

# Optional: what the comparison benchmarks (meson -Dcompare=true, scripts/bench --compare) link against.
# libopenblas0-pthread: without an optimized BLAS installed, Debian's libtorch runs on the reference BLAS.
# python3-torch: bench/compare/tabular_torch.py, the PyTorch reference for the tabular samples.
nnfuse_compare_packages=(libtorch-dev libdnnl-dev libopenblas0-pthread python3-torch)

# nnfuse_install_missing [package...]: installs those of the packages (default: nnfuse_packages) that are missing.
nnfuse_install_missing() {
  local missing=() pkg wanted=("$@")
  [ ${#wanted[@]} -eq 0 ] && wanted=("${nnfuse_packages[@]}")
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "nnfuse: missing packages: ${missing[*]} (run as root to install them)" >&2; return 1; }
    sudo=(sudo)
  fi
  echo "nnfuse: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine has no package lists; an old list may name versions the mirror no longer has.
  "${sudo[@]}" apt-get update -qq || return 1
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || return 1
}

# The comparison packages (libtorch, oneDNN, OpenBLAS), only those missing; not part of the default set.
nnfuse_install_compare() {
  nnfuse_install_missing "${nnfuse_compare_packages[@]}"
}

# Configures $nnfuse_build once, and again when the set of headers changed: meson.build globs the headers it installs
# when it configures, and a header added later would otherwise be missing from the install (and from consumers).
nnfuse_configure() {
  local headers stamp="$nnfuse_build/nnfuse-installed-headers.list"
  headers=$(cd "$nnfuse_root" && find dsl runtime codegen -name '*.hpp' -o -name '*.h' | LC_ALL=C sort)
  if [ -f "$nnfuse_build/build.ninja" ]; then
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$headers" ] && return 0
    meson setup --reconfigure "$nnfuse_build" "$nnfuse_root" >/dev/null \
      || { echo "nnfuse: meson setup --reconfigure failed (see $nnfuse_build/meson-logs/meson-log.txt)" >&2; return 1; }
  else
    meson setup "$nnfuse_build" "$nnfuse_root" "$@" >/dev/null \
      || { echo "nnfuse: meson setup failed (see $nnfuse_build/meson-logs/meson-log.txt)" >&2; return 1; }
  fi
  printf '%s\n' "$headers" > "$stamp"
}

nnfuse_build_all() {
  # ninja prints its progress only when there is something to build
  ninja -C "$nnfuse_build" | grep -v '^ninja: no work to do\.$\|^ninja: Entering directory' || true
  return "${PIPESTATUS[0]}"
}
