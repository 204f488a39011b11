# SPDX-License-Identifier: BSD-3-Clause
# libFuzzer targets (clang, ASan + UBSan), built and run by
# fuzz/run_fuzz.sh: FUZZ_SECONDS (default 20) each in make check, longer
# with `make fuzz` at the top. Seeds in fuzz/corpus/<target>/ (those of
# fuzz_module written by fuzz/module_seeds.py).
TESTS += fuzz/fuzz.sh
EXTRA_DIST += fuzz/fuzz.sh fuzz/run_fuzz.sh fuzz/fuzz_accountdb.c fuzz/fuzz_api.c \
	fuzz/fuzz_conf.c fuzz/fuzz_names.c fuzz/fuzz_module.c fuzz/fuzz_module_shim.c \
	fuzz/fake_http.c fuzz/fake_http.h fuzz/module_seeds.py fuzz/corpus

# what run_fuzz.sh builds and grows in the build tree
clean-local: clean-fuzz
.PHONY: clean-fuzz
clean-fuzz:
	rm -rf fuzz/bin fuzz/obj fuzz/work-corpus fuzz/fuzz_*.log
