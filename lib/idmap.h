/* SPDX-License-Identifier: BSD-3-Clause */
/* uid allocation for CloudBase accounts.
 *
 * A uid is FNV-1a 64 (hash.h) of a stable key (the CloudBase sub when known at
 * creation, else the CloudBase login folded to ASCII lower case), reduced
 * into [uid_min, uid_max]: the same person gets the same uid on every host
 * of a fleet. A taken id probes upwards (wrapping to uid_min) to the next
 * free one. 0, 65534 (nobody), 65535 and 4294967295 ((uid_t)-1) are never
 * handed out.
 */
#ifndef CB_IDMAP_H
#define CB_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "status.h"

/* The home slot of key in the range, before any probing. */
uint32_t cb_idmap_hash(const char *key, uint32_t uid_min, uint32_t uid_max);

/* Ids no account may ever get. */
bool cb_idmap_reserved(uint32_t id);

typedef bool (*cb_id_taken_fn)(void *arg, uint32_t id);

/* The first id from the key's home slot on that is neither reserved nor
 * taken. *probes counts the ids skipped (0: the home slot was free).
 * CB_ERR_INPUT for an empty range or uid_min 0; CB_ERR_EXISTS when every
 * id of the range is taken. */
cb_status cb_idmap_pick(const char *key, uint32_t uid_min, uint32_t uid_max, cb_id_taken_fn taken,
			void *arg, uint32_t *id, uint32_t *probes);

/* A set of ids: open addressing, at most half full, so adding and asking
 * are O(1) whatever the number of ids (a bulk import asks a million times). */
struct cb_idset {
	uint32_t *slots; /* 0: empty (id 0 is kept in has_zero) */
	size_t n, cap; /* cap: a power of two, or 0 */
	bool has_zero;
};

void cb_idset_free(struct cb_idset *s);
cb_status cb_idset_add(struct cb_idset *s, uint32_t id);
bool cb_idset_has(const struct cb_idset *s, uint32_t id);

#endif
