#!/bin/bash
# Builds a real rootfs history in DIR (default /var/tmp/snap-rootfs-history), once per machine:
#   s0-base   debootstrap --variant=minbase bookworm (devices, setuid files, hardlinks)
#   s1-php    s0 + apt-get install php-cli
#   s2-ping   s1 + apt-get install iputils-ping (security.capability on /usr/bin/ping)
#   s3-purge  s2 + apt-get purge --autoremove php* (deletions, removed directories)
# Needs root, debootstrap and a Debian mirror (the first URIs: line of
# /etc/apt/sources.list.d/debian.sources, else deb.debian.org). Takes about a minute.
set -eu
lab=$(realpath -m "${1:-/var/tmp/snap-rootfs-history}")
[ -f "$lab/done" ] && exit 0
command -v debootstrap >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mkdir -p "$lab"
rm -rf "$lab"/s[0-3]-*
debootstrap --variant=minbase bookworm "$lab/s0-base" ${mirror:+"$mirror"} >"$lab/debootstrap.log" 2>&1
step() { # step FROM TO COMMAND
  cp -a "$lab/$1" "$lab/$2"
  cp /etc/resolv.conf "$lab/$2/etc/resolv.conf"
  chroot "$lab/$2" /bin/sh -c "DEBIAN_FRONTEND=noninteractive $3" >"$lab/$2.log" 2>&1
}
step s0-base s1-php 'apt-get install -y -q php-cli'
step s1-php s2-ping 'apt-get install -y -q iputils-ping'
step s2-ping s3-purge 'apt-get purge -y -q --autoremove "php*"'
touch "$lab/done"
echo "built $lab/s0-base .. s3-purge" >&2
