/* SPDX-License-Identifier: BSD-3-Clause */
/* The cost of one yescrypt computation at a given cost (0: libcrypt's
 * default), as offline login pays it: crypt_gensalt_rn("$y$") then
 * crypt_rn. Prints the median of N computations in microseconds.
 * Usage: yescrypt_cost [COST [N]] */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	unsigned long cost = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
	int n = argc > 2 ? atoi(argv[2]) : 21;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data data;
	long *us;

	if (n < 1 || n > 10000 || (us = calloc((size_t)n, sizeof(*us))) == NULL)
		return 2;
	if (crypt_gensalt_rn("$y$", cost, NULL, 0, setting, (int)sizeof(setting)) == NULL)
		return 1;
	for (int i = 0; i < n; i++) {
		struct timespec a, b;

		memset(&data, 0, sizeof(data));
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (crypt_rn("bench-password", setting, &data, (int)sizeof(data)) == NULL)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000;
	}
	qsort(us, (size_t)n, sizeof(*us), cmp);
	printf("%s %ld\n", setting, us[n / 2]);
	free(us);
	return 0;
}
