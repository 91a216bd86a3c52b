/* daemon/fileio.h: the daemon's state files (silences, baselines): read whole, write atomically.
 * Blocking: callers keep the files small or write from a thread (daemon/model_state.c). */
#pragma once
#include <stddef.h>

struct ad_buf;

/* Appends the file's bytes to out. 0, -ENOENT, -EFBIG (over max bytes), -ENOMEM or -errno. */
int ad_file_read(const char *path, size_t max, struct ad_buf *out);
/* Writes path.tmp, fsyncs it and renames it over path, so a crash leaves the old file or the new
 * one, never half of one. 0 or -errno (the temporary file is removed). */
int ad_file_write_atomic(const char *path, const void *p, size_t n);
