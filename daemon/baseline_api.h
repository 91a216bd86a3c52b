/* daemon/baseline_api.h: GET /api/v1/baselines on the admin server (docs/baselines.md),
 * answered from the main pipeline's baseline model and every Kafka partition's; and GET
 * /api/v1/topology/learned, the dependencies the correlator learned (docs/topology.md,
 * "learned"), in the topology file format. Runs on the loop.
 * (The learned state's file is daemon/model_state.) */
#pragma once

struct ad_admin;
struct ad_baseline_api;
struct ad_pipeline;
struct ad_streams;

/* pipe and streams (may be NULL) are borrowed and must outlive the API. 0 or -ENOMEM. */
int ad_baseline_api_create(struct ad_pipeline *pipe, struct ad_streams *streams,
                           struct ad_baseline_api **ret);
void ad_baseline_api_destroy(struct ad_baseline_api *st); /* NULL-safe */
/* GET /api/v1/baselines?series=KEY (one series) or ?prefix=P&limit=N (keys). 0 or
 * ad_admin_route's errors. */
int ad_baseline_api_routes(struct ad_baseline_api *st, struct ad_admin *a);
