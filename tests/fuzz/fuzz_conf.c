/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness for the config parser: any text, parsed as
 * cloudbase.conf, either fails (nothing leaks: LeakSanitizer) or gives a
 * config whose values keep their documented ranges; validation and the API
 * URL never crash. The first byte picks the flags (strict, quiet). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct cb_config *cfg)
{
	if (cfg->n_require_groups > CB_CONFIG_MAX_LIST || cfg->n_group_map > CB_CONFIG_MAX_LIST)
		abort();
	for (size_t i = 0; i < cfg->n_require_groups; i++)
		if (cfg->require_groups[i] == NULL)
			abort();
	for (size_t i = 0; i < cfg->n_group_map; i++)
		if (cfg->group_map[i].cloud == NULL || cfg->group_map[i].local == NULL)
			abort();
	if (cfg->method > CB_METHOD_CHOICE || strcmp(cb_config_method_name(cfg), "unknown") == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cb_log log = {0};
	struct cb_config cfg;
	unsigned flags;
	char *text;

	if (size < 1 || size > CB_CONFIG_MAX_SIZE)
		return 0;
	flags = data[0] & (CB_CONF_STRICT | CB_CONF_QUIET);
	text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	cb_config_init(&cfg);
	if (cb_config_parse(&cfg, text, "fuzz.conf", flags, &log) == CB_OK) {
		check(&cfg);
		if (cb_config_validate(&cfg, &log) == CB_OK) {
			char *url = cb_config_api_url(&cfg);

			if (url == NULL || (strncmp(url, "https://", 8) != 0 &&
					    strncmp(url, "http://127.0.0.1", 16) != 0 &&
					    strncmp(url, "http://[::1]", 12) != 0 &&
					    strncmp(url, "http://localhost", 16) != 0))
				abort(); /* HTTPS, or plain HTTP to loopback only */
			free(url);
			if (cfg.uid_min >= cfg.uid_max)
				abort();
		}
	}
	cb_config_free(&cfg);
	free(text);
	return 0;
}
