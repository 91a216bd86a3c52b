/* daemon/security.h: warnings about a configuration that leaves a door open (docs/security.md):
 * a listener reachable from other hosts without a token (or, for syslog, an allow-list), and a
 * secret file (tokens, keys) that other users can read. Said at start-up and by --check-config;
 * never fatal: some deployments mean it (a firewall, a proxy in front). */
#pragma once

struct ad_config;

/* Logs one warning per open door; returns how many. Reads file modes (stat): start-up only. */
int ad_security_warnings(const struct ad_config *cfg);
