/* daemon/security.c: see security.h. Options are looked up by name in the section tables, so a
 * collector's private config struct stays private, and a secret option added later (any string
 * option named *token_file, *key_file or *secret*) is checked without a change here. */
#include "daemon/security.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "common/addr.h"
#include "common/log.h"
#include "config/config.h"

static const struct ad_opt *find_opt(const struct ad_config *cfg, const char *section,
                                     const char *name, const void **ret_cfg)
{
    for (size_t i = 0; i < cfg->n; i++) {
        if (strcmp(cfg->sections[i]->path, section) != 0)
            continue;
        for (const struct ad_opt *o = cfg->sections[i]->opts; o && o->name; o++)
            if (strcmp(o->name, name) == 0) {
                *ret_cfg = cfg->cfg[i];
                return o;
            }
    }
    return NULL;
}

static const char *opt_str(const struct ad_config *cfg, const char *section, const char *name)
{
    const void *c;
    const struct ad_opt *o = find_opt(cfg, section, name, &c);
    char *s = NULL;
    if (o && (o->type == AD_OPT_T_STRING || o->type == AD_OPT_T_ENDPOINT))
        memcpy(&s, (const char *)c + o->offset, sizeof(s));
    return s ? s : "";
}

static const struct ad_strlist *opt_list(const struct ad_config *cfg, const char *section,
                                         const char *name)
{
    const void *c;
    const struct ad_opt *o = find_opt(cfg, section, name, &c);
    return o && o->type == AD_OPT_T_STRLIST
               ? (const struct ad_strlist *)(const void *)((const char *)c + o->offset)
               : NULL;
}

static bool enabled(const struct ad_config *cfg, const char *section)
{
    const void *c;
    const struct ad_opt *o = find_opt(cfg, section, "enabled", &c);
    bool b = false;
    if (o && o->type == AD_OPT_T_BOOL)
        memcpy(&b, (const char *)c + o->offset, sizeof(b));
    return b;
}

static bool is_secret(const char *name)
{
    size_t n = strlen(name);
    return (n >= 10 && strcmp(name + n - 10, "token_file") == 0) ||
           (n >= 8 && strcmp(name + n - 8, "key_file") == 0) || strstr(name, "secret");
}

static int secret_files(const struct ad_config *cfg)
{
    int warned = 0;
    for (size_t i = 0; i < cfg->n; i++)
        for (const struct ad_opt *o = cfg->sections[i]->opts; o && o->name; o++) {
            char *path = NULL;
            struct stat st;
            if (o->type != AD_OPT_T_STRING || !is_secret(o->name))
                continue;
            memcpy(&path, (const char *)cfg->cfg[i] + o->offset, sizeof(path));
            if (!path || !path[0] || stat(path, &st) < 0 || !(st.st_mode & (S_IRWXG | S_IRWXO)))
                continue;
            ad_log(AD_LOG_WARN, "security: %s.%s: %s can be read by %s (mode %04o); chmod 600 it",
                   cfg->sections[i]->path, o->name, path,
                   st.st_mode & S_IRWXO ? "every user" : "its group",
                   (unsigned)(st.st_mode & 07777));
            warned++;
        }
    return warned;
}

int ad_security_warnings(const struct ad_config *cfg)
{
    int n = secret_files(cfg);
    const char *admin = opt_str(cfg, "admin", "listen");
    if (!ad_addr_is_local(admin) && !opt_str(cfg, "admin", "write_token_file")[0]) {
        ad_log(AD_LOG_WARN,
               "security: admin.listen is %s (not loopback) without admin.write_token_file: "
               "whoever reaches it can create and delete silences",
               admin);
        n++;
    }
    const char *http = opt_str(cfg, "collectors.http", "listen");
    if (enabled(cfg, "collectors.http") && !ad_addr_is_local(http) &&
        !opt_str(cfg, "collectors.http", "token_file")[0]) {
        ad_log(AD_LOG_WARN,
               "security: collectors.http.listen is %s (not loopback) without token_file: "
               "whoever reaches it can inject events",
               http);
        n++;
    }
    const struct ad_strlist *allow = opt_list(cfg, "collectors.syslog", "allowed_sources");
    static const char *const syslog_listens[] = {"udp_listen", "tcp_listen"};
    for (size_t i = 0; i < 2 && enabled(cfg, "collectors.syslog"); i++) {
        const char *l = opt_str(cfg, "collectors.syslog", syslog_listens[i]);
        if (!ad_addr_is_local(l) && (!allow || allow->n == 0)) {
            ad_log(AD_LOG_WARN,
                   "security: collectors.syslog.%s is %s (not loopback) without allowed_sources: "
                   "any host can inject events",
                   syslog_listens[i], l);
            n++;
        }
    }
    const struct ad_strlist *zmq = opt_list(cfg, "collectors.zmq", "endpoints");
    for (size_t i = 0; zmq && enabled(cfg, "collectors.zmq") && i < zmq->n; i++)
        if (ad_addr_is_any(zmq->v[i])) {
            ad_log(AD_LOG_WARN,
                   "security: collectors.zmq.endpoints has %s (every address): whoever reaches "
                   "it can inject events unless CURVE is on (docs/security.md)",
                   zmq->v[i]);
            n++;
        }
    return n;
}
