# SPDX-License-Identifier: BSD-3-Clause
# after files (and systemd): a local account always wins
passwd last cloudbase
group last cloudbase
