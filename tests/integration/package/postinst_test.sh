#!/usr/bin/env bash
# postinst_test.sh DEB: runs the package's maintainer scripts for real (with the system's adduser)
# against a private copy of /etc, in a mount namespace of their own, so this machine's user
# database is never touched. /run is a fresh tmpfs there, so the scripts' systemctl branch (taken
# only on a running systemd) cannot reach the host. Exits 77 (ctest: Skipped, with this reason
# printed) when no mount namespace can be made, e.g. in an unprivileged container build.
set -euo pipefail
deb=$1
fail() { echo "postinst_test: FAIL: $*" >&2; exit 1; }
[ -f "$deb" ] || fail "no $deb (made by the package_deb test)"
if ! unshare --mount --propagation private true 2>/dev/null; then
  echo "postinst_test: SKIPPED: cannot create a mount namespace here (needs root with CAP_SYS_ADMIN)" >&2
  exit 77
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/exai-postinst-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
dpkg-deb -e "$deb" "$scratch/control"
mkdir "$scratch/etc"
cp -a /etc/. "$scratch/etc/"
host_passwd=$(md5sum </etc/passwd)

# In the namespace: the copy is /etc. Fresh install, then the same again (an upgrade), then removal.
unshare --mount --propagation private bash -euo pipefail -c '
  mount --bind "$1/etc" /etc
  mount -t tmpfs tmpfs /run
  c=$1/control
  "$c/postinst" configure
  "$c/postinst" configure 0.1.0
  "$c/prerm" remove
  "$c/postrm" remove
  "$c/postrm" purge
' _ "$scratch" >"$scratch/out" 2>&1 || { cat "$scratch/out" >&2; fail "a maintainer script failed"; }

entry=$(grep '^exai:' "$scratch/etc/passwd") || fail "postinst created no exai user"
[ "$(grep -c '^exai:' "$scratch/etc/passwd")" = 1 ] || fail "more than one exai user"
IFS=: read -r _ _ uid gid _ home shell <<<"$entry"
[ "$uid" -lt 1000 ] || fail "exai has uid $uid, not a system uid"
[ "$home" = /nonexistent ] || fail "exai's home is $home"
[ "$shell" = /usr/sbin/nologin ] || fail "exai's shell is $shell"
grep -q "^exai:x:$gid:" "$scratch/etc/group" || fail "no exai group with gid $gid"
[ "$(md5sum </etc/passwd)" = "$host_passwd" ] || fail "the host's /etc/passwd changed"
echo "postinst_test: ok: $entry" >&2
