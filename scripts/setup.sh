#!/bin/bash
# Installs everything nettrace needs to build, test and run its lab on Debian 12 (root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root" >&2; exit 1; }
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config clang llvm libclang-rt-14-dev libbpf-dev bpftool \
  libcli11-dev libfmt-dev libspdlog-dev libgtest-dev googletest nlohmann-json3-dev \
  libelf-dev libdw-dev zlib1g-dev help2man dpkg-dev man-db zsh bash-completion \
  iproute2 iptables nftables jq iputils-ping procps kmod bpftrace \
  qemu-system-x86 busybox-static cpio openvswitch-switch iperf3 conntrack >/dev/null
