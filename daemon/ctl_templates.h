/* daemon/ctl_templates.h: `aiopsctl templates` (docs/templates.md): mines raw log lines offline
 * with the daemon's miner and settings, and prints each line's template (or a summary). */
#pragma once
#include <stdio.h>

void ad_ctl_templates_usage(FILE *f);
/* argv[0] is "templates". Returns the exit code: 0, 1 (input or output failed), 2 (usage). */
int ad_ctl_templates_run(int argc, char **argv);
