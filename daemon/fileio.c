/* daemon/fileio.c: see fileio.h. */
#include "daemon/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"

int ad_file_read(const char *path, size_t max, struct ad_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat sb;
    int r = fstat(fd, &sb) != 0 ? -errno : (size_t)sb.st_size > max ? -EFBIG : 0;
    if (r == 0)
        r = ad_buf_reserve(out, (size_t)sb.st_size + 1);
    while (r == 0) {
        ssize_t n = read(fd, out->p + out->len, out->cap - out->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            r = -errno;
        else if (n == 0)
            break;
        else if ((out->len += (size_t)n) == out->cap - 1 && ad_buf_reserve(out, 4096) < 0)
            r = -ENOMEM;
        if (out->len > max)
            r = -EFBIG;
    }
    if (out->p)
        out->p[out->len] = 0;
    close(fd);
    return r;
}

int ad_file_write_atomic(const char *path, const void *p, size_t n)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp)
        return -ENOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int r = 0, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        r = -errno;
    size_t off = 0;
    while (r == 0 && off < n) {
        ssize_t k = write(fd, (const char *)p + off, n - off);
        if (k < 0 && errno != EINTR)
            r = -errno;
        else if (k > 0)
            off += (size_t)k;
    }
    if (r == 0 && fsync(fd) != 0)
        r = -errno;
    if (fd >= 0 && close(fd) != 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) != 0)
        r = -errno;
    if (r < 0 && fd >= 0)
        unlink(tmp);
    free(tmp);
    return r;
}
