/* common/seqhdr.h: per-publisher sequence numbers on the ZeroMQ path (docs/collectors.md). A
 * publisher that wants its losses seen sends, before the event frame, a frame
 *   "aiopsd-seq <publisher-id> <seq>"
 * with seq counting its messages from 1. The collector keeps the last seq of each publisher and
 * counts the numbers it never saw. Receivers that do not know the frame take the last frame as
 * the event, as for any envelope, so old and new senders and receivers mix. Pure: no I/O. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AD_SEQ_MAGIC "aiopsd-seq "
#define AD_SEQ_ID_MAX 64 /* bytes of a publisher id: [A-Za-z0-9._:-] */

/* Whether id is a valid publisher id (1..AD_SEQ_ID_MAX of [A-Za-z0-9._:-]). */
bool ad_seq_id_valid(const char *id, size_t len);
/* The header frame into buf (n bytes). Returns its length, or -EINVAL (bad id, or too small). */
int ad_seq_format(char *buf, size_t n, const char *id, uint64_t seq);
/* 1 when the frame is a header (id NUL-terminated into id, AD_SEQ_ID_MAX + 1 bytes; seq >= 1),
 * 0 when it does not start with AD_SEQ_MAGIC (a topic), -EINVAL when it does but is malformed. */
int ad_seq_parse(const void *p, size_t n, char *id, uint64_t *ret_seq);

/* What the receiver knows of one publisher. */
struct ad_seq_pub {
    char id[AD_SEQ_ID_MAX + 1];
    uint64_t hash;
    uint64_t last;     /* last seq seen */
    uint64_t received; /* messages with a header */
    uint64_t gaps;     /* seq numbers skipped: messages lost on the way */
    uint64_t resets;   /* seq went backwards (the publisher restarted) */
};

struct ad_seq_tracker;
/* At most max publishers are tracked (later ones are counted in ad_seq_untracked). */
int ad_seq_tracker_create(size_t max, struct ad_seq_tracker **ret); /* 0 or -ENOMEM */
void ad_seq_tracker_destroy(struct ad_seq_tracker *t);               /* NULL-safe */
/* One message of publisher id with seq: returns how many messages of that publisher are missing
 * right before it (seq - last - 1; for the first message of a publisher, seq - 1: what was sent
 * before we listened), 0 when none; -1 when the publisher is not tracked (table full). A seq at
 * or below the last one is a restart of the publisher: counted in resets, nothing missing. */
int64_t ad_seq_observe(struct ad_seq_tracker *t, const char *id, uint64_t seq);
size_t ad_seq_count(const struct ad_seq_tracker *t);
const struct ad_seq_pub *ad_seq_at(const struct ad_seq_tracker *t, size_t i);
uint64_t ad_seq_untracked(const struct ad_seq_tracker *t);
