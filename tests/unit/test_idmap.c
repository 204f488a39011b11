/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the uid mapping: determinism, range, probing, reserved ids,
 * and the direct reading of passwd/group files. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "idmap.h"
#include "localfiles.h"
#include "testutil.h"

static void test_fnv_vectors(void **state)
{
	(void)state;
	/* published FNV-1a 64 test vectors: the uid of a person must never
	 * change between versions, so the hash is pinned */
	assert_true(cb_fnv1a64("", 0) == 0xcbf29ce484222325ull);
	assert_true(cb_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cull);
	assert_true(cb_fnv1a64("foobar", 6) == 0x85944171f73967e8ull);
	/* and the reduction into the default range */
	assert_int_equal(cb_idmap_hash("a", 200000, 2000199999),
			 200000 + (uint32_t)(0xaf63dc4c8601ec8cull % 2000000000ull));
}

static void test_deterministic_and_in_range(void **state)
{
	char key[32];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		uint32_t a, b, p;

		snprintf(key, sizeof(key), "user-%d@example.com", i);
		assert_int_equal(cb_idmap_pick(key, 200000, 2000199999, NULL, NULL, &a, &p), CB_OK);
		assert_int_equal(cb_idmap_pick(key, 200000, 2000199999, NULL, NULL, &b, &p), CB_OK);
		assert_int_equal(a, b);
		assert_true(a >= 200000 && a <= 2000199999);
		/* a small range too */
		assert_int_equal(cb_idmap_pick(key, 5000, 5099, NULL, NULL, &a, &p), CB_OK);
		assert_true(a >= 5000 && a <= 5099);
	}
}

struct taken {
	uint32_t ids[8];
	int n;
	int calls;
};

static bool is_taken(void *arg, uint32_t id)
{
	struct taken *t = arg;

	t->calls++;
	for (int i = 0; i < t->n; i++)
		if (t->ids[i] == id)
			return true;
	return false;
}

static void test_probing(void **state)
{
	uint32_t home = cb_idmap_hash("alice", 300000, 300999), id, probes;
	struct taken t = {{home, home + 1}, 2, 0};

	(void)state;
	assert_int_equal(cb_idmap_pick("alice", 300000, 300999, is_taken, &t, &id, &probes), CB_OK);
	if (home + 1 < 300999) {
		assert_int_equal(id, home + 2);
		assert_int_equal(probes, 2);
	}
	/* wrap around from the top of the range to its bottom */
	{
		struct taken top = {{0}, 0, 0};
		uint32_t lo = 400000, hi = 400009, k;
		char key[16];

		for (k = 0;; k++) {
			snprintf(key, sizeof(key), "k%u", k);
			if (cb_idmap_hash(key, lo, hi) == hi)
				break;
		}
		top.ids[0] = hi;
		top.n = 1;
		assert_int_equal(cb_idmap_pick(key, lo, hi, is_taken, &top, &id, &probes), CB_OK);
		assert_int_equal(id, lo);
		assert_int_equal(probes, 1);
	}
}

static void test_never_reserved(void **state)
{
	uint32_t id, probes;
	char key[16];

	(void)state;
	assert_true(cb_idmap_reserved(0));
	assert_true(cb_idmap_reserved(65534));
	assert_true(cb_idmap_reserved(65535));
	assert_true(cb_idmap_reserved(UINT32_MAX));
	/* a range holding only reserved ids and one free id gives that id */
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "u%d", i);
		assert_int_equal(cb_idmap_pick(key, 65534, 65536, NULL, NULL, &id, &probes), CB_OK);
		assert_int_equal(id, 65536);
	}
	assert_int_equal(cb_idmap_pick("x", 65534, 65535, NULL, NULL, &id, &probes), CB_ERR_EXISTS);
	assert_int_equal(cb_idmap_pick("x", 0, 10, NULL, NULL, &id, &probes), CB_ERR_INPUT);
	assert_int_equal(cb_idmap_pick("x", 10, 9, NULL, NULL, &id, &probes), CB_ERR_INPUT);
	assert_int_equal(cb_idmap_pick("", 10, 90, NULL, NULL, &id, &probes), CB_ERR_INPUT);
}

static void test_full_range(void **state)
{
	struct taken t = {{7000, 7001, 7002}, 3, 0};
	uint32_t id, probes;

	(void)state;
	assert_int_equal(cb_idmap_pick("bob", 7000, 7002, is_taken, &t, &id, &probes),
			 CB_ERR_EXISTS);
	assert_int_equal(t.calls, 3); /* bounded: each id asked once */
}

static void test_files_read_directly(void **state)
{
	char *dir = test_tmpdir();
	char *pw = test_write(dir, "passwd",
			      "root:x:0:0:root:/root:/bin/bash\n"
			      "# comment\n"
			      "+nis\n"
			      "alice:x:1500:1600::/home/alice:/bin/sh\n"
			      "broken:x:notanumber:1\n"
			      "big:x:4294967295:2:::\n",
			      0644);
	char *gr = test_write(dir, "group", "root:x:0:\nsudo:x:27:alice\nwheel:x:10\n", 0644);
	struct cb_idset s = {0};
	uint32_t gid;

	(void)state;
	assert_int_equal(cb_localfile_add_passwd_ids(&s, pw, NULL), CB_OK);
	assert_int_equal(cb_localfile_add_group_ids(&s, gr, NULL), CB_OK);
	assert_true(cb_idset_has(&s, 0));
	assert_true(cb_idset_has(&s, 1500));
	assert_true(cb_idset_has(&s, 1600)); /* a primary gid counts too */
	assert_true(cb_idset_has(&s, 27));
	assert_true(cb_idset_has(&s, 10));
	assert_true(cb_idset_has(&s, 4294967295u));
	assert_false(cb_idset_has(&s, 1501));
	assert_int_equal(cb_localfile_add_passwd_ids(&s, "/nonexistent/passwd", NULL), CB_OK);
	assert_int_equal(cb_localfile_id(gr, "sudo", &gid), CB_OK);
	assert_int_equal(gid, 27);
	assert_int_equal(cb_localfile_id(gr, "sud", &gid), CB_ERR_NOT_FOUND);
	assert_int_equal(cb_localfile_id(gr, "nosuch", &gid), CB_ERR_NOT_FOUND);
	assert_int_equal(cb_localfile_id("/nonexistent/group", "sudo", &gid), CB_ERR_NOT_FOUND);
	/* opened but unreadable (a directory: EISDIR on the first read): the name
	 * may be there, so not CB_ERR_NOT_FOUND (test_failinject fails reads too) */
	assert_int_equal(cb_localfile_id(dir, "sudo", &gid), CB_ERR_SYSTEM);
	cb_idset_free(&s);
	free(pw);
	free(gr);
	test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fnv_vectors),
		cmocka_unit_test(test_deterministic_and_in_range),
		cmocka_unit_test(test_probing),
		cmocka_unit_test(test_never_reserved),
		cmocka_unit_test(test_full_range),
		cmocka_unit_test(test_files_read_directly),
	};

	return cmocka_run_group_tests_name("idmap", tests, NULL, NULL);
}
