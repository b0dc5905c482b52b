#!/bin/sh
# Builds the tiny test guest from this machine's Debian packages, nothing downloaded:
# linux-image-amd64's kernel, an initramfs of busybox-static, virtio-net's modules and a
# static UDP echo. Usage: build-guest.sh [OUTPUT-DIR]; writes vmlinuz and initramfs.gz there.
set -eu
here=$(dirname "$(readlink -f "$0")")
out=${1:-$here/../../build/guest}
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
[ -n "$kernel" ] || { echo "no /boot/vmlinuz-*: apt-get install linux-image-amd64" >&2; exit 1; }
modules=/lib/modules/${kernel#/boot/vmlinuz-}
[ -x /bin/busybox ] || { echo "no /bin/busybox: apt-get install busybox-static" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/modules" "$root/proc" "$root/sys" "$root/dev" "$out"
cp /bin/busybox "$root/bin/busybox"
cc -static -O2 -o "$root/bin/udp-echo" "$here/udp-echo.c"
for module in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net; do
  file=$(find "$modules" -name "$module.ko*" | head -n 1)
  [ -n "$file" ] || { echo "no module $module in $modules" >&2; exit 1; }
  case "$file" in
    *.xz) xz -dc "$file" > "$root/modules/$module.ko" ;;
    *.zst) zstd -qdc "$file" > "$root/modules/$module.ko" ;;
    *) cp "$file" "$root/modules/$module.ko" ;;
  esac
done
install -m 755 "$here/init" "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initramfs.gz"
cp "$kernel" "$out/vmlinuz"
echo "$out"
