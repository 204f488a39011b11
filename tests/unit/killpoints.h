/* SPDX-License-Identifier: BSD-3-Clause */
/* Kill points of a store's writer: a forked writer sets kill_stage and dies
 * by SIGKILL at that system call of its write, so that a test can check what
 * a crash at each point leaves. The program links killpoints.c with
 * -Wl,--wrap=flock -Wl,--wrap=write -Wl,--wrap=rename. */
#ifndef CB_KILLPOINTS_H
#define CB_KILLPOINTS_H

enum kill_stage {
	KILL_NONE,
	KILL_LOCKED, /* the exclusive lock taken */
	KILL_PARTIAL, /* half of a write(2) of more than one byte done */
	KILL_BEFORE_RENAME, /* the new file complete, not renamed in place */
	KILL_RENAMED, /* renamed in place, the directory not yet synced */
};

extern enum kill_stage kill_stage;

#endif
