/* SPDX-License-Identifier: BSD-3-Clause */
/* The reader against damaged and hostile files: every truncation, every
 * flipped byte, bad headers, out-of-range offsets, index loops, bad
 * records, and unsafe files at the path. Nothing may crash or hang, and a
 * record handed out always has the name or uid asked for. Run it under
 * valgrind too (make check-valgrind): an unchecked offset shows there. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "accountdb.h"
#include "accountdb_format.h"
#include "accountdb_map.h"
#include "accountdb_testutil.h"

#define N 12

static unsigned char *image; /* a valid database */
static size_t image_len;
static char names[N][16];
static uint32_t uids[N];

static int setup(void **state)
{
	struct cb_account l[N];
	const char *groups[] = {"admin", "ops"};
	struct stat st;
	FILE *f;

	(void)state;
	if (geteuid() != 0)
		return 0;
	dbfix_init(&fx);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "user%c%d", 'a' + i, i * 7);
		uids[i] = 500000 + (uint32_t)i * 13;
		l[i] = mkacct(names[i], names[i], uids[i]);
		l[i].phone = i % 3 ? strdup("+86 13800000000") : NULL;
		l[i].n_groups = (size_t)(i % 3);
		l[i].groups = calloc(2, sizeof(char *));
		for (size_t g = 0; g < l[i].n_groups; g++)
			l[i].groups[g] = strdup(groups[g]);
	}
	if (cb_accountdb_write_file(fx.cfg.accounts_db, l, N, &fx.log) != CB_OK)
		return -1;
	for (int i = 0; i < N; i++)
		cb_account_free(&l[i]);
	f = fopen(fx.cfg.accounts_db, "rb");
	if (f == NULL || fstat(fileno(f), &st) != 0)
		return -1;
	image_len = (size_t)st.st_size;
	image = malloc(image_len);
	if (fread(image, 1, image_len, f) != image_len)
		return -1;
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	free(image);
	dbfix_done(&fx);
	return 0;
}

/* Open bytes as a database (a memfd: fast, no file checks) and look every
 * name and uid up; returns the open status. */
static cb_status probe(const unsigned char *bytes, size_t len)
{
	struct cb_dbmap m;
	struct cb_dbrec r;
	cb_status rc;
	int fd = memfd_create("cbdb", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	rc = cb_dbmap_open_fd(&m, fd, "memfd", CB_DB_KIND_BASE, NULL);
	close(fd);
	if (rc != CB_OK)
		return rc;
	for (int i = 0; i < N; i++) {
		cb_status st = cb_dbmap_find_name(&m, names[i], &r);

		assert_true(st == CB_OK || st == CB_ERR_NOT_FOUND || st == CB_ERR_CORRUPT);
		if (st == CB_OK) {
			assert_string_equal(r.name, names[i]); /* never another user */
			assert_int_equal(strlen(r.name), r.name_len);
			assert_int_not_equal(r.uid, 0);
		}
		st = cb_dbmap_find_uid(&m, uids[i], &r);
		if (st == CB_OK)
			assert_int_equal(r.uid, uids[i]);
	}
	assert_int_not_equal(cb_dbmap_find_name(&m, "nosuchuser", &r), CB_OK);
	assert_int_not_equal(cb_dbmap_find_uid(&m, 4242, &r), CB_OK);
	for (uint32_t i = 0; i < m.n_records; i++) {
		cb_status st = cb_dbmap_get(&m, i, &r);

		assert_true(st == CB_OK || st == CB_ERR_CORRUPT);
		if (st == CB_OK) {
			size_t pos = 0;
			uint32_t ng = 0;

			assert_int_not_equal(r.uid, 0);
			assert_int_equal(r.uid, r.gid);
			assert_true(cb_valid_local_name(r.name));
			while (cb_dbrec_next_group(&r, &pos) != NULL)
				ng++;
			assert_int_equal(ng, r.n_groups);
		}
	}
	(void)cb_dbmap_verify(&m, NULL);
	cb_dbmap_close(&m);
	return CB_OK;
}

static struct cb_db_header *hdr(unsigned char *b)
{
	return (struct cb_db_header *)(void *)b;
}

static unsigned char *copy_image(void)
{
	unsigned char *b = malloc(image_len);

	assert_non_null(b);
	memcpy(b, image, image_len);
	return b;
}

static void test_valid_image(void **state)
{
	struct cb_dbmap m;
	struct cb_dbrec r;

	(void)state;
	SKIP_UNLESS_ROOT();
	assert_int_equal(probe(image, image_len), CB_OK);
	/* a positive control: the image really holds the records */
	assert_int_equal(cb_dbmap_open(&m, fx.cfg.accounts_db, CB_DB_KIND_BASE, &fx.log), CB_OK);
	assert_int_equal(cb_dbmap_verify(&m, &fx.log), CB_OK);
	for (int i = 0; i < N; i++) {
		assert_int_equal(cb_dbmap_find_name(&m, names[i], &r), CB_OK);
		assert_int_equal(r.uid, uids[i]);
		assert_int_equal(r.n_groups, (uint32_t)(i % 3));
	}
	cb_dbmap_close(&m);
}

static void test_truncated_at_every_offset(void **state)
{
	(void)state;
	SKIP_UNLESS_ROOT();
	for (size_t len = 0; len < image_len; len++)
		if (probe(image, len) != CB_ERR_CORRUPT)
			fail_msg("truncated to %zu bytes: not refused", len);
	/* and one byte too many */
	{
		unsigned char *b = realloc(copy_image(), image_len + 1);

		b[image_len] = 0;
		assert_int_equal(probe(b, image_len + 1), CB_ERR_CORRUPT);
		free(b);
	}
}

static void test_every_byte_flipped(void **state)
{
	static const unsigned char masks[] = {0xff, 0x01, 0x80, 0x20};
	unsigned char *b = copy_image();
	size_t opened = 0;

	(void)state;
	SKIP_UNLESS_ROOT();
	for (size_t i = 0; i < image_len; i++) {
		for (size_t k = 0; k < sizeof(masks); k++) {
			b[i] ^= masks[k];
			opened += probe(b, image_len) == CB_OK;
			b[i] ^= masks[k];
		}
	}
	/* most flips land in records and strings: the header check alone
	 * must not be what keeps this test quiet */
	assert_true(opened > image_len);
	free(b);
}

static void test_bad_headers(void **state)
{
	unsigned char *b = copy_image();
	struct cb_db_header *h = hdr(b);
	const struct cb_db_header good = *h;

	(void)state;
	SKIP_UNLESS_ROOT();
#define EXPECT_CORRUPT(mutation)                                                                   \
	do {                                                                                       \
		*h = good;                                                                         \
		mutation;                                                                          \
		assert_int_equal(probe(b, image_len), CB_ERR_CORRUPT);                             \
	} while (0)
	EXPECT_CORRUPT(h->magic[0] = 'X');
	EXPECT_CORRUPT(h->version = 3);
	EXPECT_CORRUPT(h->version = 0);
	EXPECT_CORRUPT(h->version = CB_DB_VERSION_1); /* a version 2 header is longer */
	EXPECT_CORRUPT(h->kind = CB_DB_KIND_DELTA); /* opened as a base */
	EXPECT_CORRUPT(h->kind = 7);
	EXPECT_CORRUPT(h->endian = 0x04030201);
	EXPECT_CORRUPT(h->header_size = 64);
	EXPECT_CORRUPT(h->record_size = 95);
	EXPECT_CORRUPT(h->file_size = image_len + 4096);
	EXPECT_CORRUPT(h->n_records = UINT32_MAX);
	EXPECT_CORRUPT(h->n_records = good.n_slots);
	EXPECT_CORRUPT(h->n_slots = good.n_slots - 1);
	EXPECT_CORRUPT(h->n_slots = 0);
	EXPECT_CORRUPT(h->max_probe = good.n_slots);
	EXPECT_CORRUPT(h->max_probe = CB_DB_MAX_PROBE + 1);
	EXPECT_CORRUPT(h->records_off = image_len - 8);
	EXPECT_CORRUPT(h->records_off = 3);
	EXPECT_CORRUPT(h->records_off = 8);
	EXPECT_CORRUPT(h->name_index_off = UINT64_MAX - 3);
	EXPECT_CORRUPT(h->uid_index_off = image_len);
	EXPECT_CORRUPT(h->strings_off = UINT64_MAX - 5);
	EXPECT_CORRUPT(h->strings_size = image_len);
	EXPECT_CORRUPT(h->strings_size = 0);
	EXPECT_CORRUPT(b[good.strings_off] = 'x');
#undef EXPECT_CORRUPT
	*h = good;
	b[good.strings_off] = '\0';
	assert_int_equal(probe(b, image_len), CB_OK);
	free(b);
}

static uint32_t *index_of(unsigned char *b, uint64_t off)
{
	return (uint32_t *)(void *)(b + off);
}

static struct cb_db_record *rec(unsigned char *b, uint32_t i)
{
	return (struct cb_db_record *)(void *)(b + hdr(b)->records_off) + i;
}

static char found[64]; /* name of the record the last lookup() found */

static cb_status lookup(unsigned char *b, const char *name, uint32_t uid, struct cb_dbrec *r)
{
	struct cb_dbmap m;
	cb_status rc;
	int fd = memfd_create("cbdb", MFD_CLOEXEC);

	assert_int_equal(write(fd, b, image_len), (ssize_t)image_len);
	assert_int_equal(cb_dbmap_open_fd(&m, fd, "memfd", CB_DB_KIND_BASE, NULL), CB_OK);
	close(fd);
	rc = name != NULL ? cb_dbmap_find_name(&m, name, r) : cb_dbmap_find_uid(&m, uid, r);
	/* r's strings die with the mapping: keep the name */
	snprintf(found, sizeof(found), "%s", rc == CB_OK ? r->name : "");
	cb_dbmap_close(&m);
	return rc;
}

static void test_index_loops(void **state)
{
	unsigned char *b = copy_image();
	struct cb_db_header *h = hdr(b);
	uint32_t *nix = index_of(b, h->name_index_off), *uix = index_of(b, h->uid_index_off);
	struct cb_dbrec r;

	(void)state;
	SKIP_UNLESS_ROOT();
	/* every slot full and pointing at record 0, the longest probe allowed:
	 * a lookup of anyone else walks the table once and gives up */
	for (uint32_t i = 0; i < h->n_slots; i++)
		nix[i] = uix[i] = 1;
	h->max_probe = h->n_slots - 1;
	assert_int_equal(lookup(b, names[5], 0, &r), CB_ERR_NOT_FOUND);
	assert_int_equal(lookup(b, NULL, uids[5], &r), CB_ERR_NOT_FOUND);
	assert_int_equal(lookup(b, names[0], 0, &r), CB_OK);
	assert_string_equal(found, names[0]);
	/* a slot pointing past the records */
	for (uint32_t i = 0; i < h->n_slots; i++)
		nix[i] = uix[i] = h->n_records + 1;
	assert_int_equal(lookup(b, names[3], 0, &r), CB_ERR_CORRUPT);
	assert_int_equal(lookup(b, NULL, uids[3], &r), CB_ERR_CORRUPT);
	free(b);
}

static void test_bad_records(void **state)
{
	unsigned char *b;
	struct cb_dbrec r;
	const struct cb_db_header *h;

	(void)state;
	SKIP_UNLESS_ROOT();
#define EXPECT_RECORD_CORRUPT(i, mutation)                                                         \
	do {                                                                                       \
		b = copy_image();                                                                  \
		h = hdr(b);                                                                        \
		mutation;                                                                          \
		assert_int_equal(lookup(b, names[i], 0, &r), CB_ERR_CORRUPT);                      \
		free(b);                                                                           \
	} while (0)
	(void)h;
	EXPECT_RECORD_CORRUPT(2, rec(b, 2)->uid = 0);
	EXPECT_RECORD_CORRUPT(2, rec(b, 2)->gid = 0);
	EXPECT_RECORD_CORRUPT(2, rec(b, 2)->flags = 0x80);
	EXPECT_RECORD_CORRUPT(4, rec(b, 4)->name.off = (uint32_t)h->strings_size);
	EXPECT_RECORD_CORRUPT(4, rec(b, 4)->name.len = UINT32_MAX);
	EXPECT_RECORD_CORRUPT(4, rec(b, 4)->home.off = UINT32_MAX - 2);
	EXPECT_RECORD_CORRUPT(4, rec(b, 4)->home.len = (uint32_t)h->strings_size);
	EXPECT_RECORD_CORRUPT(4, rec(b, 4)->shell.len += 1); /* no NUL right after */
	EXPECT_RECORD_CORRUPT(5, rec(b, 5)->n_groups = 7);
	EXPECT_RECORD_CORRUPT(5, rec(b, 5)->n_groups = 0);
	EXPECT_RECORD_CORRUPT(5, rec(b, 5)->groups.len -= 1);
	EXPECT_RECORD_CORRUPT(6, b[h->strings_off + rec(b, 6)->home.off + 1] = ':');
	EXPECT_RECORD_CORRUPT(6, b[h->strings_off + rec(b, 6)->home.off + 1] = '\n');
	EXPECT_RECORD_CORRUPT(6, b[h->strings_off + rec(b, 6)->login.off + 1] = '\0');
#undef EXPECT_RECORD_CORRUPT
	/* a record whose name was changed to another one's is not served as
	 * the other: the name index still leads to the right record */
	b = copy_image();
	memcpy(b + hdr(b)->strings_off + rec(b, 7)->name.off, "zzzz", 4);
	assert_int_equal(lookup(b, names[8], 0, &r), CB_OK);
	assert_string_equal(found, names[8]);
	assert_int_equal(lookup(b, names[7], 0, &r), CB_ERR_NOT_FOUND);
	free(b);
}

static void test_unsafe_files(void **state)
{
	struct cb_dbmap m;
	char *p = NULL, *fifo = NULL, *link = NULL, *copy = NULL;

	(void)state;
	SKIP_UNLESS_ROOT();
	assert_true(asprintf(&fifo, "%s/fifo", fx.dir) > 0);
	assert_true(asprintf(&link, "%s/link", fx.dir) > 0);
	assert_true(asprintf(&copy, "%s/copy", fx.dir) > 0);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_int_equal(cb_dbmap_open(&m, fifo, CB_DB_KIND_BASE, &fx.log), CB_ERR_UNSAFE_FILE);
	assert_int_equal(symlink(fx.cfg.accounts_db, link), 0);
	assert_int_equal(cb_dbmap_open(&m, link, CB_DB_KIND_BASE, &fx.log), CB_ERR_UNSAFE_FILE);
	assert_int_equal(cb_dbmap_open(&m, fx.dir, CB_DB_KIND_BASE, &fx.log), CB_ERR_UNSAFE_FILE);
	assert_true(asprintf(&p, "cp %s %s", fx.cfg.accounts_db, copy) > 0);
	assert_int_equal(system(p), 0);
	assert_int_equal(chmod(copy, 0664), 0);
	assert_int_equal(cb_dbmap_open(&m, copy, CB_DB_KIND_BASE, &fx.log), CB_ERR_UNSAFE_FILE);
	assert_int_equal(chmod(copy, 0644), 0);
	assert_int_equal(chown(copy, 1, 1), 0);
	assert_int_equal(cb_dbmap_open(&m, copy, CB_DB_KIND_BASE, &fx.log), CB_ERR_UNSAFE_FILE);
	assert_int_equal(chown(copy, 0, 0), 0);
	assert_int_equal(cb_dbmap_open(&m, copy, CB_DB_KIND_BASE, &fx.log),
			 CB_OK); /* positive control */
	cb_dbmap_close(&m);
	/* a sticky directory: every writer refuses it (cb_ensure_dir), so
	 * readers do too, with a reason, and status says so */
	assert_int_equal(chmod(fx.dir, 01777), 0);
	fx.cap.len = 0;
	fx.cap.text[0] = '\0';
	assert_int_equal(cb_dbmap_open(&m, copy, CB_DB_KIND_BASE, &fx.log), CB_ERR_UNSAFE_FILE);
	assert_non_null(strstr(fx.cap.text, "sticky is not enough"));
	assert_int_equal(chmod(fx.dir, 0755), 0);
	{
		char *dbdir = strdup(fx.cfg.accounts_db);
		size_t n = 0;

		assert_non_null(dbdir);
		*strrchr(dbdir, '/') = '\0';
		assert_int_equal(chmod(dbdir, 01777), 0);
		assert_int_equal(cb_accountdb_check(&fx.cfg, &n, &fx.log), CB_ERR_UNSAFE_FILE);
		assert_int_equal(chmod(dbdir, 0755), 0);
		assert_int_equal(cb_accountdb_check(&fx.cfg, &n, &fx.log), CB_OK);
		free(dbdir);
	}
	unlink(copy);
	assert_int_equal(cb_dbmap_open(&m, copy, CB_DB_KIND_BASE, &fx.log), CB_ERR_NOT_FOUND);
	free(p);
	free(fifo);
	free(link);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_image),
		cmocka_unit_test(test_truncated_at_every_offset),
		cmocka_unit_test(test_every_byte_flipped),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_index_loops),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_unsafe_files),
	};

	return cmocka_run_group_tests_name("accountdb_corrupt", tests, setup, teardown);
}
