/* correlators/registry.c: correlators in pipeline order. */
#include "correlators/correlator.h"
#include "correlators/service_window.h"

const struct ad_correlator_ops *const ad_correlators[] = {
    &ad_correlator_service_window,
    NULL,
};
