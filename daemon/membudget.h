/* daemon/membudget.h: the global memory budget (daemon.memory_limit, docs/limits.md). The
 * process's resident set is read from /proc/self/statm; above the limit the daemon pauses its
 * collectors (ZeroMQ stops reading, HTTP answers 503 with Retry-After, Kafka partitions pause)
 * and gives freed heap back to the kernel (malloc_trim), and below the low-water mark (limit x
 * AD_MEM_LOW_PERCENT / 100) it resumes them. Runs on the loop. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct ad_membudget;
struct ad_metrics;

#define AD_MEM_LOW_PERCENT 85   /* resume below this share of the limit */
#define AD_MEM_CHECK_MS 100     /* timer period while a limit is set */
#define AD_MEM_BATCH_CHECK_MS 5 /* at most this often from ad_membudget_check */

/* changed(ctx, over) runs when the state flips (over the limit, or back below the low-water
 * mark). 0 or -ENOMEM. */
int ad_membudget_create(struct event_base *base, void (*changed)(void *ctx, bool over), void *ctx,
                        struct ad_membudget **ret);
void ad_membudget_destroy(struct ad_membudget *mb); /* NULL-safe */
/* Bytes (0: no limit, never over; a reload may set or clear it). */
void ad_membudget_set_limit(struct ad_membudget *mb, uint64_t limit);
/* After a batch of events: measures (rate-limited to AD_MEM_BATCH_CHECK_MS) and may flip. */
void ad_membudget_check(struct ad_membudget *mb);
bool ad_membudget_over(const struct ad_membudget *mb);
/* Resident set size now, in bytes (0 if /proc is not readable). */
uint64_t ad_membudget_rss(void);
void ad_membudget_stats(const struct ad_membudget *mb, struct ad_metrics *m);
