/* daemon/model_state.c: see model_state.h. A save serializes the model on the loop (a memory
 * copy) and hands the bytes to a thread that writes, fsyncs and renames the file, so the loop
 * never waits for the disk; a save that finds the previous one still writing is skipped
 * (counted) and the next interval catches up. */
#include "daemon/model_state.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/ser.h"
#include "daemon/fileio.h"
#include "daemon/pipeline.h"

#define FORMAT_VERSION 1u
#define HEADER_SIZE 32
#define MAX_STATE_FILE ((size_t)8 << 30) /* 8 GiB */

static bool model_has(void *ctx, struct ad_pipeline *p, const char *name)
{
    (void)ctx;
    return ad_pipeline_model(p, name) != NULL;
}

static int model_save(void *ctx, struct ad_pipeline *p, const char *name, struct ad_buf *out)
{
    (void)ctx;
    return ad_pipeline_model_save(p, name, out);
}

static int model_load(void *ctx, struct ad_pipeline *p, const char *name, const void *data,
                      size_t len, struct ad_err *reterr)
{
    (void)ctx;
    return ad_pipeline_model_load(p, name, data, len, reterr);
}

static const struct ad_model_state_ops model_ops = {model_has, model_save, model_load};

struct ad_model_state {
    struct ad_pipeline *pipe;
    const struct ad_model_state_ops *ops;
    void *ctx;
    char model[32], what[32], magic[9], option[96];
    struct event *timer;
    char *file; /* "" when not persisted */
    int64_t interval_ns;

    pthread_t writer;
    bool writer_started;
    atomic_bool writing;
    struct ad_buf image; /* owned by the writer while writing */
    atomic_int last_rc;

    uint64_t failures, skipped;
    int last_build_rc; /* the last serialization: 0 or -errno */
    atomic_uint_fast64_t written_ok, written_failed;
    size_t last_bytes;
};

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

int ad_model_state_check(const char *magic, const void *data, size_t len, const void **payload,
                         size_t *plen, const char **why)
{
    const unsigned char *p = data;
    uint32_t order = 0x01020304u, seen;
    if (len < HEADER_SIZE || memcmp(p, magic, 8) != 0)
        return *why = "not a state file of this model", -EINVAL;
    struct ad_rd r = ad_rd_make(p + 8, HEADER_SIZE - 8); /* the little-endian fields */
    uint32_t version = ad_rd_u32(&r);
    memcpy(&seen, p + 12, 4);
    (void)ad_rd_u32(&r);
    uint64_t n = ad_rd_u64(&r), sum = ad_rd_u64(&r);
    if (version != FORMAT_VERSION)
        return *why = "a state file of another format version", -EINVAL;
    if (seen != order)
        return *why = "a state file written on a host of another byte order", -EINVAL;
    if (n != len - HEADER_SIZE)
        return *why = "truncated or padded (length does not match)", -EINVAL;
    if (ad_hash64(p + HEADER_SIZE, (size_t)n, 0) != sum)
        return *why = "corrupt (checksum does not match)", -EINVAL;
    *payload = p + HEADER_SIZE;
    *plen = (size_t)n;
    return 0;
}

/* Header + payload into out. */
static int build_image(struct ad_model_state *st, struct ad_buf *out)
{
    ad_buf_reset(out);
    unsigned char hdr[HEADER_SIZE] = {0};
    int r = ad_buf_append(out, hdr, sizeof(hdr));
    if (r == 0)
        r = st->ops->save(st->ctx, st->pipe, st->model, out);
    if (r < 0)
        return r;
    unsigned char *p = (unsigned char *)out->p;
    uint32_t order = 0x01020304u;
    size_t n = out->len - HEADER_SIZE;
    memcpy(p, st->magic, 8);
    put_u32(p + 8, FORMAT_VERSION);
    memcpy(p + 12, &order, 4);
    put_u64(p + 16, n);
    put_u64(p + 24, ad_hash64(p + HEADER_SIZE, n, 0));
    return 0;
}

static void load(struct ad_model_state *st)
{
    struct ad_buf buf;
    ad_buf_init(&buf);
    int r = ad_file_read(st->file, MAX_STATE_FILE, &buf);
    const void *payload;
    size_t plen;
    const char *why = NULL;
    struct ad_err err = {0};
    if (r == -ENOENT) {
        ad_log(AD_LOG_INFO, "%s: %s does not exist yet; learning starts", st->what, st->file);
    } else if (r < 0) {
        ad_log(AD_LOG_ERROR, "%s: cannot read %s: %s; learning starts from scratch", st->what,
               st->file, strerror(-r));
    } else if (ad_model_state_check(st->magic, buf.p, buf.len, &payload, &plen, &why) < 0 ||
               st->ops->load(st->ctx, st->pipe, st->model, payload, plen, &err) < 0) {
        char aside[4200];
        snprintf(aside, sizeof(aside), "%s.corrupt", st->file);
        bool moved = rename(st->file, aside) == 0;
        ad_log(AD_LOG_ERROR, "%s: %s rejected: %s%s%s; learning starts from scratch", st->what,
               st->file, why ? why : err.msg, moved ? "; moved to " : "", moved ? aside : "");
    } else {
        ad_log(AD_LOG_INFO, "%s: state loaded from %s (%zu bytes)", st->what, st->file, buf.len);
    }
    ad_buf_fini(&buf);
}

static void *writer_main(void *arg)
{
    struct ad_model_state *st = arg;
    int r = ad_file_write_atomic(st->file, st->image.p, st->image.len);
    atomic_store(&st->last_rc, r);
    if (r < 0)
        atomic_fetch_add(&st->written_failed, 1);
    else
        atomic_fetch_add(&st->written_ok, 1);
    atomic_store(&st->writing, false);
    return NULL;
}

static void join_writer(struct ad_model_state *st)
{
    if (st->writer_started) {
        pthread_join(st->writer, NULL);
        st->writer_started = false;
        int r = atomic_load(&st->last_rc);
        if (r < 0)
            ad_log(AD_LOG_ERROR, "%s: cannot write %s: %s", st->what, st->file, strerror(-r));
    }
}

/* sync: write on this thread (shutdown). */
static void save(struct ad_model_state *st, bool sync)
{
    if (!st->file[0])
        return;
    if (atomic_load(&st->writing)) {
        st->skipped++;
        return;
    }
    join_writer(st);
    int r = build_image(st, &st->image);
    st->last_build_rc = r;
    if (r < 0) {
        st->failures++;
        ad_log(AD_LOG_ERROR, "%s: cannot serialize the state: %s", st->what, strerror(-r));
        return;
    }
    st->last_bytes = st->image.len;
    atomic_store(&st->writing, true);
    if (!sync && pthread_create(&st->writer, NULL, writer_main, st) == 0) {
        st->writer_started = true;
        return;
    }
    writer_main(st);
    r = atomic_load(&st->last_rc);
    if (r < 0)
        ad_log(AD_LOG_ERROR, "%s: cannot write %s: %s", st->what, st->file, strerror(-r));
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    save(arg, false);
}

/* The timer is persistent: armed once with the interval, re-armed when a reload changes it. */
static void arm(struct ad_model_state *st)
{
    if (!st->timer || !st->file[0])
        return;
    struct timeval tv = {(time_t)(st->interval_ns / 1000000000),
                         (suseconds_t)(st->interval_ns % 1000000000 / 1000)};
    evtimer_add(st->timer, &tv);
}

int ad_model_state_create(const struct ad_model_state_spec *spec, struct event_base *base,
                          struct ad_pipeline *pipe, struct ad_model_state **ret)
{
    struct ad_model_state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->pipe = pipe;
    st->interval_ns = spec->interval_ns;
    snprintf(st->model, sizeof(st->model), "%s", spec->model);
    snprintf(st->what, sizeof(st->what), "%s", spec->what);
    snprintf(st->magic, sizeof(st->magic), "%s", spec->magic);
    if (spec->option)
        snprintf(st->option, sizeof(st->option), "%s", spec->option);
    else
        snprintf(st->option, sizeof(st->option), "models.%s.state_file", spec->model);
    st->ops = spec->ops ? spec->ops : &model_ops;
    st->ctx = spec->ctx;
    ad_buf_init(&st->image);
    const char *f = spec->file ? spec->file : "";
    const char *dir = spec->state_dir ? spec->state_dir : "";
    struct stat sb;
    if (f[0] && f[0] != '/' && (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        ad_log(AD_LOG_WARN,
               "%s: daemon.state_dir %s is not a directory; state is not persisted "
               "(create it, or set %s to \"\")",
               st->what, dir, st->option);
        f = "";
    }
    if (!st->ops->has(st->ctx, pipe, st->model))
        f = "";
    size_t n = strlen(dir) + strlen(f) + 2;
    st->file = malloc(n);
    if (!st->file || (base && !(st->timer = event_new(base, -1, EV_PERSIST, on_timer, st)))) {
        ad_model_state_destroy(st);
        return -ENOMEM;
    }
    if (!f[0])
        st->file[0] = 0;
    else if (f[0] == '/')
        snprintf(st->file, n, "%s", f);
    else
        snprintf(st->file, n, "%s/%s", dir, f);
    if (st->file[0] && !spec->skip_load)
        load(st);
    arm(st);
    *ret = st;
    return 0;
}

bool ad_model_state_enabled(const struct ad_model_state *st) { return st && st->file[0]; }

void ad_model_state_save_now(struct ad_model_state *st)
{
    if (!st)
        return;
    join_writer(st);
    save(st, true);
    if (st->file[0] && atomic_load(&st->last_rc) == 0 && st->last_bytes)
        ad_log(AD_LOG_INFO, "%s: state saved to %s (%zu bytes)", st->what, st->file,
               st->last_bytes);
}

void ad_model_state_destroy(struct ad_model_state *st)
{
    if (!st)
        return;
    join_writer(st);
    if (st->timer)
        event_free(st->timer);
    free(st->file);
    ad_buf_fini(&st->image);
    free(st);
}

void ad_model_state_set_interval(struct ad_model_state *st, int64_t interval_ns)
{
    if (st && interval_ns != st->interval_ns) {
        st->interval_ns = interval_ns;
        if (st->timer)
            evtimer_del(st->timer);
        arm(st);
    }
}

bool ad_model_state_failing(const struct ad_model_state *st, char *why, size_t n)
{
    if (!st || !st->file[0])
        return false;
    struct ad_model_state *s = (struct ad_model_state *)st; /* atomics are read-modify types */
    int r = atomic_load(&s->last_rc);
    if (r < 0)
        snprintf(why, n, "%s: cannot write %s: %s", st->what, st->file, strerror(-r));
    else if (st->last_build_rc < 0)
        snprintf(why, n, "%s: cannot serialize the state: %s", st->what,
                 strerror(-st->last_build_rc));
    return r < 0 || st->last_build_rc < 0;
}

void ad_model_state_stats(const struct ad_model_state *st, struct ad_metrics *m)
{
    if (!st)
        return;
    struct ad_model_state *s = (struct ad_model_state *)st; /* atomics are read-modify types */
    char l[96];
    const char *h = "Model state file writes, by model and outcome.";
    snprintf(l, sizeof(l), "model=\"%s\",outcome=\"ok\"", st->model);
    ad_metrics_counter(m, "aiopsd_state_file_writes_total", h, l, atomic_load(&s->written_ok));
    snprintf(l, sizeof(l), "model=\"%s\",outcome=\"failed\"", st->model);
    ad_metrics_counter(m, "aiopsd_state_file_writes_total", h, l,
                       atomic_load(&s->written_failed) + st->failures);
    snprintf(l, sizeof(l), "model=\"%s\",outcome=\"skipped\"", st->model);
    ad_metrics_counter(m, "aiopsd_state_file_writes_total", h, l, st->skipped);
    snprintf(l, sizeof(l), "model=\"%s\"", st->model);
    ad_metrics_gauge(m, "aiopsd_state_file_bytes", "Size of the last state file image, by model.",
                     l, (double)st->last_bytes);
}
