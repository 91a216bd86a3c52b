/* models/silence.h: silences and maintenance windows (docs/silences.md). A silence is a set of
 * Alertmanager-style matchers with a start and an end in event time; the model marks the alert
 * events an active silence matches with AD_EVF_SILENCED. Pure: no I/O, no clock. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"
#include "config/opt.h"

struct ad_arena;
struct ad_buf;
struct ad_err;
struct ad_event;

#define AD_SILENCE_MAX_MATCHERS 16  /* matchers per silence */
#define AD_SILENCE_MAX 1024         /* silences in one set, config and run time together */
#define AD_SILENCE_MAX_NAME 128     /* bytes of a matcher name */
#define AD_SILENCE_MAX_VALUE 1024   /* bytes of a matcher value (a regex included) */
#define AD_SILENCE_MAX_TEXT 1024    /* bytes of a comment or of createdBy */
#define AD_SILENCE_ID_SIZE 40       /* an id with its NUL: "cfg-<16 hex>" or a UUID */
#define AD_SILENCE_OPEN_START INT64_MIN /* no start: active since forever */
#define AD_SILENCE_OPEN_END INT64_MAX   /* no end: active for ever */

struct ad_silence_cfg {
    struct ad_strlist silences; /* "matchers [start=T] [end=T] [comment=TEXT]" items */
    char *file;                 /* run-time silences persisted here; "" = not persisted */
    int64_t retention_ns;       /* expired run-time silences are listed this long, then dropped */
};

extern const struct ad_model_ops ad_model_silence;

enum ad_silence_state { AD_SILENCE_PENDING = 0, AD_SILENCE_ACTIVE, AD_SILENCE_EXPIRED };
const char *ad_silence_state_name(enum ad_silence_state st); /* "pending", "active", "expired" */

struct ad_silence_matcher_spec {
    struct ad_str name, value; /* a field (source, resource, service, check, severity, kind) or a
                                * label name; the value, or the regex (anchored at both ends) */
    bool is_regex, is_equal;   /* =, !=, =~, !~ as in Alertmanager */
};

/* What a silence is made of. Strings are borrowed for the call that takes the spec. */
struct ad_silence_spec {
    struct ad_str id;           /* empty: generated */
    struct ad_silence_matcher_spec matchers[AD_SILENCE_MAX_MATCHERS];
    size_t n_matchers;
    int64_t start_ns, end_ns;   /* event time, ns; AD_SILENCE_OPEN_START/END when not given */
    int64_t updated_ns;         /* when it was created or last changed (wall clock); 0 unknown */
    struct ad_str created_by, comment;
};

/* Parses one silence in the text syntax of docs/silences.md into *ret:
 *   matcher... [start=RFC3339] [end=RFC3339] [comment=TEXT]
 * matchers and options separated by blanks or commas, optionally inside { }; a value with blanks,
 * commas or quotes is written in double quotes with \" and \\ escapes. With allow_options false
 * (the "matchers" string of the HTTP API) start=, end= and comment= are refused. Decoded strings
 * go into arena; the rest of *ret is reset first (open start and end). Returns 0, -ENOMEM or
 * -EINVAL with reterr saying what is wrong (no prefix: the caller names the item). Regexes are
 * compiled (and checked) by ad_silences_add and ad_silences_set_config. */
int ad_silence_parse(const char *text, bool allow_options, struct ad_arena *arena,
                     struct ad_silence_spec *ret, struct ad_err *reterr);

/* One silence object of the HTTP API or the silences file (common/json_silence.h) to a spec:
 * the "matchers" string through ad_silence_parse (no options), the times as RFC 3339. Strings
 * stay in the JSON's arena or go into arena. 0, -ENOMEM or -EINVAL with reterr saying why. */
struct ad_jsil;
int ad_silence_spec_from_json(const struct ad_jsil *j, struct ad_arena *arena,
                              struct ad_silence_spec *ret, struct ad_err *reterr);

/* A set of silences, shared by every pipeline of the daemon (see ad_silence_attach) and used
 * by one thread (the loop). Reference-counted: the daemon holds one reference, each attached
 * model instance another, so the last one out frees it whatever the teardown order. */
struct ad_silences;

int ad_silences_create(struct ad_silences **ret); /* 0 or -ENOMEM */
struct ad_silences *ad_silences_ref(struct ad_silences *s);
void ad_silences_unref(struct ad_silences *s); /* NULL-safe */

/* Replaces the config silences by items (models.silence.silences), all or nothing: on error
 * (-EINVAL with "models.silence.silences[i]: ..." in reterr, -ENOMEM, -ENOSPC) nothing changed.
 * A config silence's id is "cfg-" and a hash of its text, so an unchanged item keeps its id and
 * its match count across reloads. */
int ad_silences_set_config(struct ad_silences *s, const struct ad_strlist *items,
                           struct ad_err *reterr);
/* Adds a run-time silence. An empty spec->id gets a generated UUID (a hash of the content and
 * now_ns); a given one must not exist yet (-EEXIST). A missing start is now_ns. Returns 0 and
 * copies the id into ret_id (AD_SILENCE_ID_SIZE bytes, may be NULL); -EINVAL (bad matcher, end
 * not after start: reterr says which), -ENOSPC (AD_SILENCE_MAX), -ENOMEM. */
int ad_silences_add(struct ad_silences *s, const struct ad_silence_spec *spec, int64_t now_ns,
                    char *ret_id, struct ad_err *reterr);
/* Expires a run-time silence: its end becomes now_ns (and so does a later start). Returns 0 (also
 * when it had already expired), -ENOENT (no such id) or -EPERM (a config silence: it is removed
 * from the config, not over the API). */
int ad_silences_expire(struct ad_silences *s, const char *id, int64_t now_ns);
/* What ad_silences_expire(s, id) would return, without changing anything: 0, -ENOENT or -EPERM. */
int ad_silences_check_expire(const struct ad_silences *s, const char *id);
/* Taking back a change that could not be persisted (daemon/silence_store.c): a run-time
 * silence's times, read before an expire and written back after it; and the removal of a
 * run-time silence just added. 0, -ENOENT (no such id) or -EPERM (a config silence). */
struct ad_silence_times {
    int64_t start_ns, end_ns, updated_ns;
};
int ad_silences_get_times(const struct ad_silences *s, const char *id,
                          struct ad_silence_times *ret);
int ad_silences_set_times(struct ad_silences *s, const char *id, const struct ad_silence_times *t);
int ad_silences_remove(struct ad_silences *s, const char *id);
/* Drops run-time silences that ended more than retention_ns before now_ns. Returns how many. */
size_t ad_silences_gc(struct ad_silences *s, int64_t now_ns, int64_t retention_ns);
/* Matches one alert event against every silence active at its event time, adds one to the match
 * count of each that matches, and returns whether any did. Events of other kinds never match. */
bool ad_silences_match(struct ad_silences *s, const struct ad_event *ev);
/* The match count of every silence, by id (the daemon's pipeline state across restarts; the
 * silences themselves are in their own file). Loading sets the count of each id still present
 * and skips the others: 0, or -EINVAL (corrupt, nothing else checked). */
struct ad_wr;
struct ad_rd;
void ad_silences_save_counts(const struct ad_silences *s, struct ad_wr *w);
int ad_silences_load_counts(struct ad_silences *s, struct ad_rd *r, struct ad_err *reterr);
/* Bumped by every change (config, add, expire, gc): persistence writes when it moved. */
uint64_t ad_silences_generation(const struct ad_silences *s);
size_t ad_silences_count(const struct ad_silences *s, enum ad_silence_state st, int64_t now_ns);

/* JSON (docs/silences.md): an array of silences in Alertmanager's v2 GettableSilence shape plus
 * "matched" (events matched) and "origin" ("config" or "api"); state judged at now_ns. id NULL:
 * all of them (runtime_only: only those added at run time, the persisted file); else only that
 * one, as an object (-ENOENT when unknown). 0, -ENOMEM or -ENOENT. */
int ad_silences_to_json(const struct ad_silences *s, const char *id, bool runtime_only,
                        int64_t now_ns, struct ad_buf *out);

/* Points a silence model instance (the state its create made) at a shared set: the instance
 * drops the set it built from its own config and takes a reference on s. From then on the owner
 * of s applies config changes to it (ad_silences_set_config), the instance's reconfigure leaves
 * it alone. Without this call (aiopsctl replay, tests) the instance owns a private set built from
 * models.silence.silences. */
void ad_silence_attach(void *model_state, struct ad_silences *s);
struct ad_silences *ad_silence_set_of(void *model_state); /* borrowed */
