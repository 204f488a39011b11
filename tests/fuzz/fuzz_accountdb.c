/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness for the account database reader: any bytes, mapped as
 * a database, must give CB_ERR_CORRUPT or records that pass their own
 * checks; never a crash, a hang or an out-of-bounds read (ASan).
 * Build and run: tests/fuzz/run_fuzz.sh BUILDDIR [SECONDS] accountdb */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accountdb.h"
#include "accountdb_format.h"
#include "accountdb_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_record(const struct cb_dbrec *r)
{
	size_t pos = 0;
	uint32_t n = 0;

	if (r->uid == 0 || r->uid != r->gid || strlen(r->name) != r->name_len ||
	    strlen(r->home) != r->home_len || !cb_valid_local_name(r->name))
		abort();
	while (cb_dbrec_next_group(r, &pos) != NULL)
		n++;
	if (n != r->n_groups)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"alice", "bob", "u000001", "root", "a"};
	struct cb_dbmap m;
	struct cb_dbrec r;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size)) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (cb_dbmap_open_fd(&m, fd, "fuzz", CB_DB_KIND_BASE, NULL) == CB_OK) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (cb_dbmap_find_name(&m, names[i], &r) == CB_OK) {
				check_record(&r);
				if (strcmp(r.name, names[i]) != 0)
					abort(); /* another user's record */
			}
		for (uint32_t uid = 700000; uid < 700004; uid++)
			if (cb_dbmap_find_uid(&m, uid, &r) == CB_OK && r.uid != uid)
				abort();
		for (uint32_t i = 0; i < m.n_records && i < 256; i++)
			if (cb_dbmap_get(&m, i, &r) == CB_OK)
				check_record(&r);
		if (m.n_records <= 256)
			(void)cb_dbmap_verify(&m, NULL);
		cb_dbmap_close(&m);
	}
	close(fd);
	return 0;
}
