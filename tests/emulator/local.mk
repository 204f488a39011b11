# SPDX-License-Identifier: BSD-3-Clause
# The CloudBase Auth emulator and its own tests.
TESTS += emulator/test_emulator.py
EXTRA_DIST += emulator/cloudbase_emulator.py emulator/emulib.py \
	emulator/emuctl emulator/seed.json emulator/README.md \
	emulator/test_emulator.py
