/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "idmap.h"

uint32_t cb_idmap_hash(const char *key, uint32_t uid_min, uint32_t uid_max)
{
	uint64_t span = (uint64_t)uid_max - uid_min + 1;

	return (uint32_t)(uid_min + cb_fnv1a64(key, strlen(key)) % span);
}

bool cb_idmap_reserved(uint32_t id)
{
	return id == 0 || id == 65534 || id == 65535 || id == UINT32_MAX;
}

cb_status cb_idmap_pick(const char *key, uint32_t uid_min, uint32_t uid_max, cb_id_taken_fn taken,
			void *arg, uint32_t *id, uint32_t *probes)
{
	uint64_t span;
	uint32_t cur;

	if (uid_min == 0 || uid_min > uid_max || key == NULL || *key == '\0')
		return CB_ERR_INPUT;
	span = (uint64_t)uid_max - uid_min + 1;
	cur = cb_idmap_hash(key, uid_min, uid_max);
	/* at most span steps: a full range ends the loop */
	for (uint64_t i = 0; i < span; i++) {
		if (!cb_idmap_reserved(cur) && (taken == NULL || !taken(arg, cur))) {
			*id = cur;
			*probes = (uint32_t)(i > UINT32_MAX ? UINT32_MAX : i);
			return CB_OK;
		}
		cur = cur == uid_max ? uid_min : cur + 1;
	}
	return CB_ERR_EXISTS;
}

void cb_idset_free(struct cb_idset *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

static size_t slot_of(uint32_t id, size_t cap)
{
	return (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static void insert(uint32_t *slots, size_t cap, uint32_t id)
{
	size_t i = slot_of(id, cap);

	while (slots[i] != 0 && slots[i] != id)
		i = (i + 1) & (cap - 1);
	slots[i] = id;
}

static cb_status grow(struct cb_idset *s)
{
	size_t cap = s->cap != 0 ? s->cap * 2 : 64;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return CB_ERR_NOMEM;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i] != 0)
			insert(slots, cap, s->slots[i]);
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return CB_OK;
}

cb_status cb_idset_add(struct cb_idset *s, uint32_t id)
{
	if (id == 0) {
		s->has_zero = true;
		return CB_OK;
	}
	if (cb_idset_has(s, id))
		return CB_OK;
	if ((s->n + 1) * 2 > s->cap && grow(s) != CB_OK)
		return CB_ERR_NOMEM;
	insert(s->slots, s->cap, id);
	s->n++;
	return CB_OK;
}

bool cb_idset_has(const struct cb_idset *s, uint32_t id)
{
	if (id == 0)
		return s->has_zero;
	if (s->cap == 0)
		return false;
	for (size_t i = slot_of(id, s->cap);; i = (i + 1) & (s->cap - 1)) {
		if (s->slots[i] == id)
			return true;
		if (s->slots[i] == 0)
			return false;
	}
}
