#!/bin/bash
# End-to-end check on a real Debian rootfs history (s0-base .. s3-purge, see make-history.sh):
# commit each state, export the base and the three diffs as OCI layers, stack them with umoci and
# compare every unpacked tree with its source (mtree and getfattr); check out each snapshot and
# compare again; run git fsck --strict on the store.
#
#   npm run e2e:real                     # builds the history in /var/tmp/snap-rootfs-history
#   SNAP_HISTORY=DIR npm run e2e:real    # uses an existing history in DIR
#
# Needs root, umoci, mtree (mtree-netbsd), getfattr (attr), rsync and git.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
snap="$here/../../bin/snap"
history=${SNAP_HISTORY:-/var/tmp/snap-rootfs-history}
for tool in umoci mtree getfattr rsync git; do
  command -v "$tool" >/dev/null || { echo "e2e-real: '$tool' is missing; install it (apt-get install umoci mtree-netbsd attr rsync git)" >&2; exit 1; }
done
[ -d "$history/s3-purge" ] || bash "$here/make-history.sh" "$history"

work=$(mktemp -d /var/tmp/snap-e2e.XXXXXX)
trap 'rm -rf "$work"' EXIT
states=(s0-base s1-php s2-ping s3-purge)
keys=type,mode,uid,gid,size,link,nlink,time,device,sha256
failures=0

# compare NAME EXPECTED_DIR ACTUAL_DIR: mtree and getfattr listings must be identical.
compare() {
  local name=$1 expected=$2 actual=$3
  printf './.snap\n' >"$work/exclude"
  (cd "$expected" && mtree -c -k "$keys" -X "$work/exclude" -p .) | grep -v '^#' >"$work/expected.mtree"
  (cd "$actual" && mtree -c -k "$keys" -X "$work/exclude" -p .) | grep -v '^#' >"$work/actual.mtree"
  (cd "$expected" && getfattr -R -h -d -m - . 2>/dev/null) >"$work/expected.xattr" || true
  (cd "$actual" && getfattr -R -h -d -m - . 2>/dev/null | grep -v '^# file: \./\.snap') >"$work/actual.xattr" || true
  if diff -u "$work/expected.mtree" "$work/actual.mtree" >"$work/mtree.diff" && diff -u "$work/expected.xattr" "$work/actual.xattr" >"$work/xattr.diff"; then
    echo "ok    $name ($(grep -c . "$work/expected.mtree") mtree lines, $(grep -c '^# file' "$work/expected.xattr" || true) files with xattrs)"
  else
    echo "FAIL  $name"; head -40 "$work/mtree.diff" "$work/xattr.diff" 2>/dev/null
    failures=$((failures + 1))
  fi
}

# The store sits outside the rootfs, so the checked-out root directory is exactly the original
# (a .snap directory inside would add one to the root's link count).
mkdir "$work/rootfs"
export SNAP_STORE="$work/store"
"$snap" -q init "$work/rootfs" >/dev/null
for state in "${states[@]}"; do
  # --modify-window=-1: compare mtimes to the nanosecond. By default rsync skips a file of equal
  # size whose mtime differs by less than a second, and the rootfs would not equal the state.
  rsync -aHAX --delete --modify-window=-1 --exclude=/.snap "$history/$state/" "$work/rootfs/"
  start=$(date +%s.%N)
  "$snap" -q -C "$work/rootfs" commit -m "$state" >/dev/null
  echo "commit $state: $(echo "$(date +%s.%N) - $start" | bc) s"
done

"$snap" -q -C "$work/rootfs" export main~3 -o "$work/layer0.tar" >/dev/null
"$snap" -q -C "$work/rootfs" diff main~3 main~2 --export "$work/layer1.tar" >/dev/null
"$snap" -q -C "$work/rootfs" diff main~2 main~1 --export "$work/layer2.tar" >/dev/null
"$snap" -q -C "$work/rootfs" diff main~1 main --export "$work/layer3.tar" >/dev/null
ls -l "$work"/layer* | awk '{print "layer " $NF ": " $5 " bytes"}'

# Compressed layers must decompress to the very tar whose diff ID the plain export printed.
# The stacked layers below are uncompressed because `umoci raw add-layer` (0.4.7, Debian 12) takes
# only uncompressed archives: it gzips its input itself, and a gzip layer given to it fails to unpack.
for pair in "gzip:layer2.tar.gz" "zstd:layer3.tar.zst"; do
  tool=${pair%%:*}; file=${pair#*:}; plain=${file%.*}
  range=$([ "$plain" = layer2.tar ] && echo "main~2 main~1" || echo "main~1 main")
  # shellcheck disable=SC2086
  "$snap" -q -C "$work/rootfs" diff $range --export "$work/$file" >/dev/null
  if [ "$("$tool" -dc "$work/$file" | sha256sum | cut -d' ' -f1)" = "$(sha256sum <"$work/$plain" | cut -d' ' -f1)" ]; then
    echo "ok    $file decompresses to $plain"
  else
    echo "FAIL  $file does not decompress to $plain"; failures=$((failures + 1))
  fi
done

umoci init --layout "$work/image"
umoci new --image "$work/image:stack"
layers=("$work/layer0.tar" "$work/layer1.tar" "$work/layer2.tar" "$work/layer3.tar")
for i in 0 1 2 3; do
  umoci raw add-layer --image "$work/image:stack" "${layers[$i]}"
  umoci unpack --image "$work/image:stack" "$work/bundle$i" >/dev/null
  compare "umoci layers 0..$i = ${states[$i]}" "$history/${states[$i]}" "$work/bundle$i/rootfs"
  rm -rf "$work/bundle$i"
done

for rev in main~1 main~2 main~3 main; do
  case $rev in main~1) state=s2-ping ;; main~2) state=s1-php ;; main~3) state=s0-base ;; main) state=s3-purge ;; esac
  start=$(date +%s.%N)
  "$snap" -q -C "$work/rootfs" checkout "$rev" 2>/dev/null
  echo "checkout $rev: $(echo "$(date +%s.%N) - $start" | bc) s"
  compare "checkout $rev = $state" "$history/$state" "$work/rootfs"
done

if git --git-dir="$work/store" fsck --strict 2>&1; then echo "ok    git fsck --strict"; else echo "FAIL  git fsck --strict"; failures=$((failures + 1)); fi
[ "$failures" -eq 0 ] && echo "e2e-real: all checks passed" || { echo "e2e-real: $failures check(s) failed"; exit 1; }
