#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The translations are complete and the texts a user sees stay checkable:
# - po/POTFILES.in names every source that marks texts (_(), N_(), P_());
# - a template made now from those sources, with po/Makevars's xgettext
#   options, merged into each po/LANG.po of po/LINGUAS (msgmerge, as
#   `make -C po update-po` does): msgfmt --check clean, no fuzzy and no
#   untranslated message; po/LANG.po itself passes msgfmt --check;
# - no prompt or message of the module is a bare literal (cb_pam_prompt,
#   cb_pam_tell, tell_final), nor any text cloudbasectl prints to a terminal;
# - the compiler still checks a format passed through _() or P_() against
#   its arguments (with and without NLS): a mismatch fails with
#   WARN_CFLAGS -Werror, a match builds.
# Prints TAP. Environment (tests/Makefile.am): top_srcdir, top_builddir,
# XGETTEXT, MSGMERGE, MSGFMT, CB_CC, CB_WARN_CFLAGS.
set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?}"
po=$top_srcdir/po
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }
diag() { sed 's/^/#   /'; }
# gettext's programs speak English here (their statistics are parsed)
LC_ALL=C
export LC_ALL
XGETTEXT=${XGETTEXT:-xgettext}
MSGMERGE=${MSGMERGE:-msgmerge}
MSGFMT=${MSGFMT:-msgfmt}
for p in "$XGETTEXT" "$MSGMERGE" "$MSGFMT"; do
	if ! command -v "$p" >/dev/null 2>&1; then
		echo "Bail out! $p not found (scripts/install-deps installs gettext)"
		exit 1
	fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cb-po.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# 1. POTFILES.in: every source with a marked text, and only existing files
listed=$(sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$po/POTFILES.in")
marking=$(cd "$top_srcdir" && grep -lE '(^|[^A-Za-z0-9_])(N_|P_|_)\(' pam/*.c tools/*.c lib/*.c |
	sort)
missing=
for f in $marking; do
	printf '%s\n' "$listed" | grep -qx "$f" || missing="$missing $f"
done
gone=
for f in $listed; do
	[ -f "$top_srcdir/$f" ] || gone="$gone $f"
done
if [ -z "$missing" ] && [ -z "$gone" ] && [ -n "$marking" ]; then
	ok "po/POTFILES.in names the $(echo $marking | wc -w) sources that mark texts"
else
	nok "po/POTFILES.in: missing:${missing:- none}; not found:${gone:- none}"
fi

# 2. a fresh template, with the options of po/Makevars (one spelling)
# (read with sed, not a nested make: under make check's -j the nested
# make prints jobserver warnings)
opts=$(sed -e ':a' -e '/\\$/N' -e 's/\\\n//' -e 'ta' "$po/Makevars" |
	sed -n 's/^XGETTEXT_OPTIONS[[:space:]]*=[[:space:]]*//p' | tr -s '[:space:]' ' ')
# shellcheck disable=SC2086 # the options are words
if "$XGETTEXT" --default-domain=pam_cloudbase --directory="$top_srcdir" \
	--add-comments=TRANSLATORS: --files-from="$po/POTFILES.in" $opts \
	-o "$tmp/pam_cloudbase.pot" 2>"$tmp/xgettext.err"; then
	msgs=$(grep -c '^msgid "[^"]' "$tmp/pam_cloudbase.pot")
	multi=$(grep -c '^msgid ""$' "$tmp/pam_cloudbase.pot")
	total=$((msgs + multi - 1))
	if [ "$total" -ge 50 ]; then
		ok "xgettext finds $total texts in the sources ($opts)"
	else
		nok "xgettext finds only $total texts"
	fi
else
	nok "xgettext failed"
	diag <"$tmp/xgettext.err"
fi

# 3. each language: complete against that template, and clean
langs=$(sed -e 's/#.*//' "$po/LINGUAS")
[ -n "$langs" ] && ok "po/LINGUAS names$(printf ' %s' $langs)" || nok "po/LINGUAS names no language"
for lang in $langs; do
	if ! "$MSGFMT" --check -o /dev/null "$po/$lang.po" 2>"$tmp/check.err"; then
		nok "po/$lang.po: msgfmt --check"
		diag <"$tmp/check.err"
	else
		ok "po/$lang.po: msgfmt --check is clean"
	fi
	if ! "$MSGMERGE" --quiet --lang="$lang" -o "$tmp/$lang.po" "$po/$lang.po" \
		"$tmp/pam_cloudbase.pot" 2>"$tmp/merge.err"; then
		nok "$lang: msgmerge with the fresh template failed"
		diag <"$tmp/merge.err"
		continue
	fi
	stats=$("$MSGFMT" --check --statistics -o /dev/null "$tmp/$lang.po" 2>&1)
	rc=$?
	case $stats in
	*fuzzy* | *untranslated*) complete=no ;;
	*" translated message"*) complete=yes ;;
	*) complete=no ;;
	esac
	if [ $rc -eq 0 ] && [ $complete = yes ]; then
		ok "$lang: every text of the sources is translated: $stats"
	else
		nok "$lang against the sources: $stats (run make -C po update-po and translate)"
		for which in --only-fuzzy --untranslated; do
			# each entry but the header, up to its msgstr
			msgattrib $which --no-wrap "$tmp/$lang.po" 2>/dev/null | awk '
				/^$/ { n++; show = 1; next }
				/^msgstr/ { show = 0 }
				n && show && !/^#/' | diag
		done
	fi
done

# 4. no bare literal as a prompt or message of the module ...
bare=$(cd "$top_srcdir" && perl -0777 -ne '
	while (/\b(cb_pam_prompt\s*\(\s*[^,;]+,|cb_pam_tell\s*\(\s*[^,;]+,\s*[^,;]+,|tell_final\s*\(\s*[^,;]+,)\s*"([^"]*)"/g) {
		print "$ARGV: $1 \"$2\"\n";
	}' pam/*.c)
if [ -z "$bare" ]; then
	ok "pam/: every prompt and message goes through _()"
else
	nok "pam/: texts shown untranslated:"
	printf '%s\n' "$bare" | diag
fi
# ... nor as text cloudbasectl prints to a terminal (the exports it writes
# to a file stream are data)
bare=$(cd "$top_srcdir" && perl -0777 -ne '
	my $str = qr/"((?:[^"\\]|\\.)*)"(?:\s*"(?:[^"\\]|\\.)*")*/;
	my @found;
	push @found, [$1, $2]
		while /\b(printf\s*\(\s*|puts\s*\(\s*|fprintf\s*\(\s*std(?:err|out)\s*,\s*)$str/g;
	push @found, [$1, $2] while /\b(fputs\s*\(\s*)$str\s*,\s*std(?:err|out)\s*\)/g;
	for (@found) {
		my ($call, $text) = @$_;
		(my $words = $text) =~ s/%[-+ #0-9.*]*[hlzjt]*[a-zA-Z]//g;
		print "$ARGV: $call\"$text\"\n" if $words =~ /[A-Za-z]{2,}/;
	}' tools/*.c)
if [ -z "$bare" ]; then
	ok "tools/: every text printed to a terminal goes through _() or P_()"
else
	nok "tools/: texts printed untranslated:"
	printf '%s\n' "$bare" | diag
fi

# 5. format checks through _() and P_(), with NLS as configured and without
cc=${CB_CC:-cc}
for nls in configured none; do
	undef=
	[ $nls = none ] && undef='#undef ENABLE_NLS'
	for case in good bad-gettext bad-ngettext; do
		case $case in
		good) body='printf(_("%ld apples\n"), n); printf(P_("%ld apple\n", "%ld apples\n", n), n);' ;;
		bad-gettext) body='printf(_("%s apples\n"), n);' ;;
		bad-ngettext) body='printf(P_("%ld apple\n", "%s apples\n", n), n);' ;;
		esac
		cat >"$tmp/fmt.c" <<EOF
#include "config.h"
$undef
#include <stdio.h>
#include "i18n.h"
void f(long n);
void f(long n)
{
	$body
}
EOF
		# shellcheck disable=SC2086 # the flags are words
		out=$($cc ${CB_WARN_CFLAGS:-} -Werror -I"$top_builddir" -I"$top_srcdir/lib" \
			-c "$tmp/fmt.c" -o "$tmp/fmt.o" 2>&1)
		rc=$?
		if [ $case = good ] && [ $rc -eq 0 ]; then
			ok "NLS $nls: formats through _() and P_() that match their arguments build"
		elif [ $case != good ] && [ $rc -ne 0 ] && printf '%s' "$out" | grep -Eq 'format .* expects argument of type'; then
			ok "NLS $nls: $case: a format through the macro that does not match its argument fails to build"
		else
			nok "NLS $nls: $case: rc=$rc"
			printf '%s\n' "$out" | diag
		fi
	done
done
echo "1..$n"
exit $failed
