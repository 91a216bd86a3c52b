/* daemon/membudget.c: see membudget.h. */
#include "daemon/membudget.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/time.h"

struct ad_membudget {
    struct event *timer;
    void (*changed)(void *ctx, bool over);
    void *ctx;
    uint64_t limit, low;
    uint64_t rss, peak;
    bool over;
    int64_t last_check_ns;
    uint64_t pauses, trims;
};

uint64_t ad_membudget_rss(void)
{
    /* statm: size resident shared text lib data dt, in pages. One read of a small file. */
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long long size, resident;
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
        return 0;
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void measure(struct ad_membudget *mb)
{
    mb->last_check_ns = ad_mono_ns();
    mb->rss = ad_membudget_rss();
    if (mb->rss > mb->peak)
        mb->peak = mb->rss;
    if (mb->limit == 0 || mb->rss == 0) {
        if (mb->over) {
            mb->over = false;
            mb->changed(mb->ctx, false);
        }
        return;
    }
    if (!mb->over && mb->rss > mb->limit) {
        /* Freed heap the allocator kept counts in the resident set: give it back first. */
        malloc_trim(0);
        mb->trims++;
        mb->rss = ad_membudget_rss();
        if (mb->rss <= mb->limit)
            return;
        mb->over = true;
        mb->pauses++;
        ad_log(AD_LOG_WARN,
               "memory: resident set %llu MiB over daemon.memory_limit (%llu MiB): collectors "
               "paused until it is below %llu MiB",
               (unsigned long long)(mb->rss >> 20), (unsigned long long)(mb->limit >> 20),
               (unsigned long long)(mb->low >> 20));
        mb->changed(mb->ctx, true);
    } else if (mb->over) {
        if (mb->rss >= mb->low) {
            /* What the output drained and the models expired is free inside the heap. */
            malloc_trim(0);
            mb->trims++;
            mb->rss = ad_membudget_rss();
        }
        if (mb->rss < mb->low) {
            mb->over = false;
            ad_log(AD_LOG_NOTICE, "memory: resident set %llu MiB below %llu MiB: collectors "
                   "resumed", (unsigned long long)(mb->rss >> 20),
                   (unsigned long long)(mb->low >> 20));
            mb->changed(mb->ctx, false);
        }
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    measure(arg);
}

int ad_membudget_create(struct event_base *base, void (*changed)(void *ctx, bool over), void *ctx,
                        struct ad_membudget **ret)
{
    struct ad_membudget *mb = calloc(1, sizeof(*mb));
    if (!mb || !(mb->timer = event_new(base, -1, EV_PERSIST, on_timer, mb))) {
        free(mb);
        return -ENOMEM;
    }
    mb->changed = changed;
    mb->ctx = ctx;
    mb->rss = mb->peak = ad_membudget_rss();
    *ret = mb;
    return 0;
}

void ad_membudget_destroy(struct ad_membudget *mb)
{
    if (!mb)
        return;
    event_free(mb->timer);
    free(mb);
}

void ad_membudget_set_limit(struct ad_membudget *mb, uint64_t limit)
{
    mb->limit = limit;
    mb->low = limit / 100 * AD_MEM_LOW_PERCENT;
    /* The timer runs always: it keeps the gauge current, and notices the drop while paused. */
    struct timeval tv = {0, AD_MEM_CHECK_MS * 1000};
    event_add(mb->timer, &tv);
    measure(mb);
}

void ad_membudget_check(struct ad_membudget *mb)
{
    if (mb->limit && ad_mono_ns() - mb->last_check_ns >= AD_MEM_BATCH_CHECK_MS * 1000000LL)
        measure(mb);
}

bool ad_membudget_over(const struct ad_membudget *mb) { return mb->over; }

void ad_membudget_stats(const struct ad_membudget *mb, struct ad_metrics *m)
{
    ad_metrics_gauge(m, "aiopsd_memory_rss_bytes", "Resident set size of the daemon.", NULL,
                     (double)ad_membudget_rss());
    ad_metrics_gauge(m, "aiopsd_memory_rss_peak_bytes",
                     "Highest resident set size seen by the memory checks.", NULL,
                     (double)mb->peak);
    ad_metrics_gauge(m, "aiopsd_memory_limit_bytes", "daemon.memory_limit (0: none).", NULL,
                     (double)mb->limit);
    ad_metrics_gauge(m, "aiopsd_memory_paused",
                     "1 while collectors are paused because the resident set is over "
                     "daemon.memory_limit.", NULL, mb->over);
    ad_metrics_counter(m, "aiopsd_memory_pauses_total",
                       "Times the resident set went over daemon.memory_limit.", NULL, mb->pauses);
    ad_metrics_counter(m, "aiopsd_memory_trims_total",
                       "malloc_trim calls made to give freed heap back near the limit.", NULL,
                       mb->trims);
}
