/* collectors/util.c: see util.h. */
#include "collectors/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "common/err.h"
#include "common/metrics.h"

static const char *const reject_names[AD_REJECT_COUNT] = {"bad_json", "too_large", "bad_utf8",
                                                          "invalid", "malformed"};

enum ad_reject ad_reject_of(int err)
{
    switch (err) {
    case -EBADMSG:
        return AD_REJECT_BAD_JSON;
    case -EMSGSIZE:
        return AD_REJECT_TOO_LARGE;
    case -EILSEQ:
        return AD_REJECT_BAD_UTF8;
    default:
        return AD_REJECT_INVALID;
    }
}

enum ad_reject ad_reject_of_text(int err)
{
    return err == -EBADMSG ? AD_REJECT_MALFORMED : ad_reject_of(err);
}

const char *ad_reject_name(enum ad_reject r) { return reject_names[r]; }

void ad_collector_counts_stats(const struct ad_collector_counts *c, const char *name,
                               struct ad_metrics *m)
{
    char lbl[128];
    snprintf(lbl, sizeof(lbl), "collector=\"%s\"", name);
    ad_metrics_counter(m, "aiopsd_events_received_total", "Messages received by a collector.", lbl,
                       c->received);
    ad_metrics_counter(m, "aiopsd_events_accepted_total",
                       "Messages that parsed into an event and entered the pipeline.", lbl,
                       c->accepted);
    for (int i = 0; i < AD_REJECT_COUNT; i++) {
        char rl[192];
        snprintf(rl, sizeof(rl), "collector=\"%s\",reason=\"%s\"", name, reject_names[i]);
        ad_metrics_counter(m, "aiopsd_events_rejected_total",
                           "Messages rejected and sent to the dead-letter list, by reason.", rl,
                           c->rejected[i]);
    }
    ad_metrics_counter(m, "aiopsd_collector_bytes_total", "Bytes received by a collector.", lbl,
                       c->bytes);
    ad_metrics_gauge(m, "aiopsd_collector_paused", "1 while a collector is paused (backpressure).",
                     lbl, c->paused ? 1 : 0);
}

void ad_strlist_free(struct ad_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int ad_strlist_copy(struct ad_strlist *dst, const struct ad_strlist *src)
{
    dst->n = 0;
    dst->v = calloc(src->n + 1, sizeof(*dst->v));
    if (!dst->v)
        return -ENOMEM;
    for (size_t i = 0; i < src->n; i++) {
        if (!(dst->v[i] = strdup(src->v[i])))
            return -ENOMEM; /* the caller frees what was copied */
        dst->n++;
    }
    return 0;
}

#define MAX_SECRET_LEN 4096

int ad_secret_read(const char *path, const char *what, char **ret, size_t *ret_len,
                   struct ad_err *reterr)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return ad_err_set(reterr, errno, "%s: cannot open %s: %s", what, path, strerror(errno));
    char buf[MAX_SECRET_LEN + 2];
    size_t n = fread(buf, 1, sizeof(buf), f);
    int e = ferror(f) ? EIO : 0, r = 0;
    fclose(f);
    size_t start = 0;
    if (e) {
        r = ad_err_set(reterr, e, "%s: cannot read %s", what, path);
        goto out_wipe;
    }
    if (n > MAX_SECRET_LEN) {
        r = ad_err_set(reterr, EINVAL, "%s: %s: longer than %d bytes", what, path, MAX_SECRET_LEN);
        goto out_wipe;
    }
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        n--;
    while (start < n && isspace((unsigned char)buf[start]))
        start++;
    n -= start;
    if (n == 0) {
        r = ad_err_set(reterr, EINVAL, "%s: %s is empty", what, path);
        goto out_wipe;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[start + i] < 0x21 || (unsigned char)buf[start + i] > 0x7e) {
            r = ad_err_set(reterr, EINVAL,
                           "%s: %s: the token must be one line of printable ASCII without spaces",
                           what, path);
            goto out_wipe;
        }
    if (!(*ret = malloc(n + 1))) {
        r = ad_err_set(reterr, ENOMEM, "%s: out of memory", what);
        goto out_wipe;
    }
    memcpy(*ret, buf + start, n);
    (*ret)[n] = '\0';
    *ret_len = n;
out_wipe:
    memset(buf, 0, sizeof(buf));
    return r;
}

void ad_secret_free(char *secret, size_t len)
{
    if (!secret)
        return;
    memset(secret, 0, len);
    free(secret);
}

bool ad_bearer_ok(const char *h, size_t n, const char *token, size_t token_len)
{
    if (!h || n < 7 || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    n -= 7;
    while (n > 0 && *h == ' ') {
        h++;
        n--;
    }
    while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t' || h[n - 1] == '\r'))
        n--;
    /* Every byte of the token is compared whatever the value: the time depends on the token's
     * length only. */
    unsigned char diff = n != token_len;
    for (size_t i = 0; i < token_len; i++)
        diff |= (unsigned char)(token[i] ^ (i < n ? h[i] : 0));
    return diff == 0;
}

bool ad_content_type_json(const char *v, size_t n)
{
    static const char json[] = "application/json";
    const size_t jn = sizeof(json) - 1;
    if (!v)
        return false;
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    if (n < jn || strncasecmp(v, json, jn) != 0)
        return false;
    for (size_t i = jn; i < n; i++) {
        if (v[i] == ';')
            return true;
        if (v[i] != ' ' && v[i] != '\t' && v[i] != '\r')
            return false;
    }
    return true;
}
