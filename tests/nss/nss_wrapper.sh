#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# id(1) resolves a CloudBase user through nss_wrapper loading the module:
# passwd, the private group and the groups mapped by group_map.
. "$top_srcdir/tests/nss/nss-lib.sh"

wrapper=$(for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
	[ -e "$d/libnss_wrapper.so" ] && echo "$d/libnss_wrapper.so" && break
done)
if [ -z "$wrapper" ]; then
	echo "1..0 # SKIP libnss_wrapper.so not installed (apt-get install libnss-wrapper)"
	exit 0
fi
write_conf
mkdb <<'SPEC'
alice 700001 alice@example.com sub-a admin,ops Alice
bob 700002 bob@example.com - -
SPEC
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$T/passwd"
printf 'root:x:0:\n' >"$T/group"

run_id() {
	in_ns env LD_PRELOAD="${LD_PRELOAD:+$LD_PRELOAD }$wrapper" NSS_WRAPPER_PASSWD="$T/passwd" NSS_WRAPPER_GROUP="$T/group" \
		NSS_WRAPPER_MODULE_SO_PATH="$MODULE" NSS_WRAPPER_MODULE_FN_PREFIX=cloudbase id "$@"
}
# id uses getgrouplist(), which nss_wrapper answers from getgrent() member
# lists, not from the module's initgroups_dyn: the group_map groups are
# checked through glibc in nss_getent.sh and test_nss_glibc instead.
out=$(run_id alice)
expect_eq "id alice" "$out" "uid=700001(alice) gid=700001(alice) groups=700001(alice)"
out=$(run_id bob)
expect_eq "id bob" "$out" "uid=700002(bob) gid=700002(bob) groups=700002(bob)"
out=$(run_id -un 700002)
expect_eq "id -un by uid" "$out" "bob"
run_id nosuch >/dev/null 2>&1
check "id of an unknown user fails" [ $? != 0 ]
finish
