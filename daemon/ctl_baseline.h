/* daemon/ctl_baseline.h: `aiopsctl baseline`, a back-test of one detector (models/detector.h) on
 * a timestamp,value CSV file: per-row scores and bands as CSV, suggested static thresholds, or an
 * SVG plot. docs/aiopsctl-baseline.md. */
#pragma once
#include <stdio.h>

/* Usage lines for aiopsctl's help. */
void ad_ctl_baseline_usage(FILE *f);
/* Runs the subcommand; argv[0] is "baseline". Writes to stdout/stderr and the --plot file.
 * Returns the process exit code: 0, 1 (unreadable input, bad lines, write failure) or 2 (usage,
 * unknown detector). */
int ad_ctl_baseline_run(int argc, char **argv);
