#!/usr/bin/env bash
# Installs everything the build needs from Debian's packages, non-interactively.
# Idempotent: packages already present are skipped by apt-get itself, and the
# package lists are refreshed only when a wanted package is missing.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap bazel-platforms bazel-rules-java
  g++ pkg-config
  libabsl-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev zlib1g-dev
  chromium fonts-dejavu-core
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "${package}" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("${package}")
  fi
done

if ((${#missing[@]} > 0)); then
  SUDO=""
  if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  ${SUDO} apt-get update -q
  ${SUDO} apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
