#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# TESTS entry: every libFuzzer target for FUZZ_SECONDS (default 20) each.
# `make fuzz` runs them longer (FUZZ_SECONDS=600 by default).
: "${top_srcdir:?run through make check}"
exec "$top_srcdir/tests/fuzz/run_fuzz.sh" "$top_builddir" "${FUZZ_SECONDS:-20}"
