#!/bin/sh
# A base image for the Containerfile without any image registry: Debian bookworm (minbase)
# from Debian's own packages with debootstrap, plus what the image needs (python3 and its
# venv module, make, CA certificates, time zone data), imported into podman.
#
#   deploy/base-image.sh [IMAGE] [MIRROR]    (as root; `make image-base`)
set -eu
image=${1:-localhost/elt-base:bookworm}
mirror=${2:-http://deb.debian.org/debian}
podman=${PODMAN:-podman}

if $podman image exists "$image"; then
  echo "image-base: $image exists (podman rmi $image to make it again)"
  exit 0
fi
for tool in debootstrap podman; do
  command -v "$tool" >/dev/null || { echo "image-base: $tool is missing (apt-get install $tool)"; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "image-base: debootstrap needs root"; exit 2; }

mkdir -p build
root=$(mktemp -d build/rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "image-base: debootstrap bookworm from $mirror into $root"
debootstrap --variant=minbase --include=python3,python3-venv,make,ca-certificates,tzdata \
  bookworm "$root" "$mirror" > "$root.log" 2>&1 || { tail -20 "$root.log"; exit 1; }
rm -f "$root.log"
# no package cache or lists in the image: it is never updated in place, only rebuilt
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | $podman import -q --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "image-base: $image ($($podman image inspect --format '{{.Size}}' "$image") bytes)"
