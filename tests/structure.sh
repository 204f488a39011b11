#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The shape that keeps the module reviewable (docs/security.md, "The
# shape"): checks on the source text, each failing when the shape breaks.
#  1. The wire contract lives in lib/api.c: struct cb_api is defined there
#     only, and pam/ reads no error text or field of the service's.
#  2. One exit path: pam/ maps an outcome to a PAM code and writes the
#     decision line in pam_cloudbase.c's finish() only.
#  3. Test-only hooks are not compiled into what is installed: no
#     CB_TEST/TESTING conditionals in lib/, pam/, nss/, tools/.
S=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
n=0
fails=0
t() { # DESCRIPTION COMMAND...: ok when COMMAND prints nothing
	desc=$1
	shift
	n=$((n + 1))
	out=$("$@" 2>&1)
	if [ -z "$out" ]; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		printf '%s\n' "$out" | sed 's/^/#   /'
		fails=$((fails + 1))
	fi
}
cd "$S" || exit 99
t "struct cb_api is defined in lib/api.c only" \
	sh -c "grep -rn 'struct cb_api {' lib pam nss tools | grep -v '^lib/api.c:'"
t "pam/ reads none of the service's error strings or texts" \
	sh -c "grep -nE '\"(invalid_[a-z_]+|rate_limit_exceeded|user_not_found|aborted|after |expired)\"' pam/*.c | grep -vE '^[^:]*:[0-9]+:[[:space:]]*(\\*|/\\*)'"
t "pam/ names no member of the API handle" \
	sh -c "grep -nE '(api|->api)(->|\\.)(http|last|log|cfg)\\b' pam/*.c"
t "cb_pam_code is called from pam_cloudbase.c only" \
	sh -c "grep -n 'cb_pam_code(' pam/*.c | grep -v '^pam/pam_cloudbase.c:' | grep -v '^pam/pamcodes.c:[0-9]*:int cb_pam_code('"
t "the decision line is written from pam_cloudbase.c only" \
	sh -c "grep -n 'cb_pam_decision(' pam/*.c | grep -v '^pam/pam_cloudbase.c:' | grep -v '^pam/context.c:[0-9]*:void cb_pam_decision('"
t "exactly one call of cb_pam_decision and of cb_pam_code in pam_cloudbase.c" \
	sh -c "[ \$(grep -c 'cb_pam_decision(' pam/pam_cloudbase.c) = 1 ] && [ \$(grep -c 'cb_pam_code(' pam/pam_cloudbase.c) = 1 ] || echo counts differ"
t "no test-only conditionals in what is installed" \
	sh -c "grep -rnE '#\\s*if(def|ndef)?\\s.*(CB_TEST|TESTING|UNIT_TEST)' lib pam nss tools"
echo "1..$n"
[ "$fails" -eq 0 ]
