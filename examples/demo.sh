#!/bin/bash
# Runs snap's main job on a small built-in example rootfs in a temporary directory: init, commit,
# change, commit, export the change as an OCI layer, roll back with checkout, and return.
set -euo pipefail
snap="$(cd "$(dirname "$0")/.." && pwd)/bin/snap"
work=$(mktemp -d "${TMPDIR:-/tmp}/snap-demo.XXXXXX")
root="$work/rootfs"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

# The example rootfs: a few of the things a real one has.
mkdir -p "$root/etc" "$root/usr/bin" "$root/var/empty" "$root/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf '#!/bin/sh\necho hello\n' >"$root/usr/bin/hello"
chmod 4755 "$root/usr/bin/hello"
ln "$root/usr/bin/hello" "$root/usr/bin/hello-again"
ln -s usr/bin "$root/bin"
chmod 1777 "$root/tmp"
if [ "$(id -u)" = 0 ]; then
  mknod "$root/etc/null" c 1 3
  chown 1000:1000 "$root/var/empty"
  command -v setfattr >/dev/null && setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 "$root/usr/bin/hello-again"
fi
mkfifo "$root/var/fifo"

cd "$root"
run "$snap" init
run "$snap" commit -m "base system"

say "change the tree: install a package, remove a file, change a mode"
mkdir -p usr/share/php && printf '<?php echo 1;\n' >usr/share/php/index.php
rm etc/passwd
chmod 0700 var/empty
run "$snap" status
run "$snap" commit -m "install php"
run "$snap" log --oneline
run "$snap" diff HEAD~1 HEAD
run "$snap" diff HEAD~1 HEAD --export "$work/layer.tar"
run tar -tvf "$work/layer.tar"
run "$snap" checkout HEAD~1
run ls -l "$root/etc" "$root/usr"
run "$snap" checkout main
run "$snap" status
say "the store is a Git repository"
run git --git-dir="$root/.snap" log --oneline
run git --git-dir="$root/.snap" show HEAD:rootfs/usr/share/php/index.php
printf '\nDemo rootfs, store and layer are in %s\n' "$work"
