/* models/registry.c: the pipeline runs the models in this order. */
#include "models/baseline.h"
#include "models/dedup.h"
#include "models/flap.h"
#include "models/model.h"
#include "models/silence.h"
#include "models/templates.h"

const struct ad_model_ops *const ad_models[] = {
    &ad_model_baseline, /* first: turns metric points into alerts that dedup then sees */
    &ad_model_templates, /* log lines: their template, and alerts on new templates and bursts */
    &ad_model_dedup,
    &ad_model_silence, /* after dedup: sees only the alerts dedup passed on */
    &ad_model_flap,
    NULL,
};
