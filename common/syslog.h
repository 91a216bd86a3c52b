/* common/syslog.h: syslog messages (RFC 5424, RFC 3164 and bare lines) to ad_event, and the
 * RFC 6587 framing of a TCP stream. Pure: no I/O and no clock reads; the receive time and the
 * peer address are passed in. The mapping is documented in docs/collector-syslog.md. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"

struct ad_arena;
struct ad_err;
struct ad_event;

enum ad_syslog_resource_from {
    AD_SYSLOG_RESOURCE_HOST = 0,  /* HOSTNAME of the header; the peer address when absent */
    AD_SYSLOG_RESOURCE_SOURCE_IP, /* always the peer address (relays, spoofed names) */
};
enum ad_syslog_service_from {
    AD_SYSLOG_SERVICE_APP = 0,  /* APP-NAME (5424) or TAG (3164); the resource when absent */
    AD_SYSLOG_SERVICE_RESOURCE, /* always the resource */
};

/* How messages map onto events; immutable while parsing. */
struct ad_syslog_map {
    struct ad_str source;     /* event source, e.g. "syslog" (non-empty) */
    int resource_from;        /* enum ad_syslog_resource_from */
    int service_from;         /* enum ad_syslog_service_from */
    bool rfc3164_header_time; /* 3164 "Mmm dd hh:mm:ss" as UTC (year nearest now); else receive time
                               */
    bool sd_labels;           /* 5424 structured data params become labels "<SD-ID>.<name>" */
    size_t max_len;           /* bytes per message; longer is -EMSGSIZE (0: no bound) */
};

enum ad_syslog_format { AD_SYSLOG_BARE = 0, AD_SYSLOG_RFC3164, AD_SYSLOG_RFC5424 };

/* What the parser had to tolerate; the collector counts these. Zeroed on every call. */
struct ad_syslog_info {
    enum ad_syslog_format format;
    bool no_pri;            /* no "<PRI>": a bare line, given user.notice */
    bool truncated_header;  /* 5424 header cut short: the missing fields are nil */
    bool bad_time;          /* unparsable or out-of-range timestamp: receive time used */
    bool utf8_replaced;     /* invalid UTF-8 in MSG replaced by U+FFFD */
    bool summary_cut;       /* MSG longer than AD_MAX_SUMMARY_LEN, cut on a character boundary */
    uint8_t labels_dropped; /* SD params past AD_MAX_LABELS or over AD_MAX_FIELD_LEN */
};

/* Parses one syslog message (one UDP datagram or one TCP frame, without its framing) into *ret,
 * a log event. Trailing LF, CR and NUL bytes are ignored. peer is the sender's address as text
 * ("10.0.0.7"; may be empty), used for the resource when the header names no host. now_ns is
 * the receive time (ns since epoch) used when the message carries no usable time. Strings in
 * *ret point into buf, peer, map->source, static storage or arena: keep all of them alive while
 * the event is used. ret_info may be NULL.
 * Returns 0, or -EMSGSIZE (over map->max_len, or a header field over AD_MAX_FIELD_LEN),
 * -EBADMSG (empty, bad PRI, NUL byte, malformed structured data, a bare line that is not text),
 * -EILSEQ (a bare line that is not UTF-8) or -ENOMEM, with reterr->msg set. Writes *ret only
 * on success. */
int ad_syslog_parse(const char *buf, size_t len, struct ad_str peer, int64_t now_ns,
                    const struct ad_syslog_map *map, struct ad_arena *arena, struct ad_event *ret,
                    struct ad_syslog_info *ret_info, struct ad_err *reterr);

/* RFC 6587 framing. A frame that starts with a digit 1-9 followed by up to 8 more digits and a
 * space is octet-counted ("<len> <msg>"); anything else is LF-terminated (a CR before the LF is
 * dropped). */
enum ad_syslog_frame_kind {
    AD_SYSLOG_FRAME_MORE = 0, /* no whole frame in the window yet */
    AD_SYSLOG_FRAME_MSG,      /* msg/len is one frame (len may be 0: an empty line) */
    AD_SYSLOG_FRAME_OVERSIZE, /* a frame over max: drop consumed bytes, then skip more */
};
struct ad_syslog_frame {
    enum ad_syslog_frame_kind kind;
    const char *msg; /* FRAME_MSG: the frame's bytes inside the window */
    size_t len;
    size_t consumed; /* bytes of the window used up (MSG, OVERSIZE) */
    size_t skip;     /* OVERSIZE, octet-counted: further bytes to discard after consumed */
    bool skip_to_lf; /* OVERSIZE, LF-framed: discard up to and including the next LF */
    bool octet_counted;
    size_t frame_len; /* OVERSIZE: the announced length (octet-counted) or bytes seen so far */
};
/* Finds the first frame in the window p..p+n. A caller that keeps at least max +
 * AD_SYSLOG_FRAME_HEADER_MAX bytes of the stream in the window (or all it has) always gets MSG
 * or OVERSIZE, so its buffer stays bounded. max > 0. */
#define AD_SYSLOG_FRAME_HEADER_MAX 10 /* "123456789 " */
void ad_syslog_frame_next(const char *p, size_t n, size_t max, struct ad_syslog_frame *ret);

/* "kern", "user", ... "local7" for facility 0..23, NULL otherwise. */
const char *ad_syslog_facility_name(unsigned facility);
/* "emerg", "alert", ... "debug" for severity 0..7, NULL otherwise. */
const char *ad_syslog_severity_name(unsigned severity);
