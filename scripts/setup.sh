#!/usr/bin/env bash
# Host tools that wisp's tests and benchmarks use, from Debian's archive. Idempotent: installs only what
# is missing. Needs root (or sudo) the first time; prints what to install otherwise.
set -euo pipefail

need=()
command -v riscv64-unknown-elf-gcc >/dev/null || need+=(gcc-riscv64-unknown-elf)
command -v riscv64-linux-gnu-objdump >/dev/null || need+=(binutils-riscv64-linux-gnu)
command -v mke2fs >/dev/null || need+=(e2fsprogs)
command -v debugfs >/dev/null || need+=(e2fsprogs)
command -v qemu-system-riscv64 >/dev/null || need+=(qemu-system-misc)
command -v cpio >/dev/null || need+=(cpio)
command -v dtc >/dev/null || need+=(device-tree-compiler)
command -v curl >/dev/null || need+=(curl)
command -v gcc >/dev/null || need+=(gcc)
command -v xz >/dev/null || need+=(xz-utils)
command -v zstd >/dev/null || need+=(zstd)
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v passt >/dev/null || need+=(passt)
command -v ip >/dev/null || need+=(iproute2)
# Containers: a local registry, skopeo to push to it, containerd (ctr, the runc v2 shim) for wisp-runc.
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v skopeo >/dev/null || need+=(skopeo)
command -v containerd >/dev/null || need+=(containerd)
command -v containerd-shim-runc-v2 >/dev/null || need+=(containerd)

[ ${#need[@]} -eq 0 ] && exit 0
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "setup: installing ${need[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo=(sudo); else
    echo "setup: please install as root: apt-get install ${need[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
