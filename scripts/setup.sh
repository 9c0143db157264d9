#!/usr/bin/env bash
# Installs every Debian 12 package Stargate needs to build, test and fuzz. Idempotent.
# Node.js 20 + npm come with the base image (do not install Debian's nodejs/npm: they conflict).
set -euo pipefail
packages=(
  cmake ninja-build pkg-config g++ clang libclang-rt-14-dev
  libboost1.81-dev libssl-dev libprotobuf-dev protobuf-compiler
  libnats-dev nats-server libcli11-dev libspdlog-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  iproute2 iptables
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi
