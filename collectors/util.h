/* collectors/util.h: what collectors share: the rejection reasons of a message that is not a
 * valid event, the metric families every collector exports (docs/collectors.md), and copies of
 * string lists taken from the config (which a reload may free), and bearer-token files and checks
 * (admin and HTTP collector). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/opt.h"

struct ad_err;
struct ad_metrics;

enum ad_reject {
    AD_REJECT_BAD_JSON = 0, /* malformed, wrong type, missing/unknown field (-EBADMSG) */
    AD_REJECT_TOO_LARGE,    /* over a size bound (-EMSGSIZE) */
    AD_REJECT_BAD_UTF8,     /* invalid UTF-8 (-EILSEQ) */
    AD_REJECT_INVALID,      /* anything else */
    AD_REJECT_MALFORMED,    /* not JSON-based (syslog): malformed or garbage (-EBADMSG) */
    AD_REJECT_COUNT
};
enum ad_reject ad_reject_of(int err); /* from ad_json_parse_event()'s -errno */
/* The same for a parser of a format other than JSON: -EBADMSG is "malformed". */
enum ad_reject ad_reject_of_text(int err);
const char *ad_reject_name(enum ad_reject r);

struct ad_collector_counts {
    uint64_t received, accepted, bytes, rejected[AD_REJECT_COUNT];
    bool paused;
};
/* aiopsd_events_{received,accepted,rejected}_total, aiopsd_collector_bytes_total and
 * aiopsd_collector_paused, labelled collector="<name>". */
void ad_collector_counts_stats(const struct ad_collector_counts *c, const char *name,
                               struct ad_metrics *m);

/* Reads a secret (a bearer token) from path: one line of printable ASCII without spaces, at most
 * 4096 bytes, surrounding white space ignored. what names the option in errors
 * ("admin.token_file"). On success *ret is a malloc'd NUL-terminated copy (wipe it with
 * ad_secret_free) and *ret_len its length. Returns 0, or -errno with reterr set (cannot open,
 * empty, too long, not one printable line). Blocks on the file: start-up only. */
int ad_secret_read(const char *path, const char *what, char **ret, size_t *ret_len,
                   struct ad_err *reterr);
void ad_secret_free(char *secret, size_t len); /* zeroes, then frees; NULL-safe */
/* True when value ("Bearer <token>", an Authorization header, value_len bytes) carries token.
 * Takes the same time whatever the value, for a given token length, so that a remote client
 * cannot find the token byte by byte. */
bool ad_bearer_ok(const char *value, size_t value_len, const char *token, size_t token_len);
/* True for a Content-Type of application/json, with or without parameters ("; charset=utf-8"). */
bool ad_content_type_json(const char *value, size_t value_len);

int ad_strlist_copy(struct ad_strlist *dst, const struct ad_strlist *src); /* 0 or -ENOMEM */
void ad_strlist_free(struct ad_strlist *l);                                /* leaves it empty */
