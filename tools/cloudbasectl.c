/* cloudbasectl: placeholder until the account database lands. */
#include "config.h"

#include <stdio.h>

int main(void)
{
	fputs("cloudbasectl: not implemented yet\n", stderr);
	return 1;
}
