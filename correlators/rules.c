/* correlators/rules.c: every linking rule of the incident correlator, by id. A new rule is one
 * line here (appended: the id is saved in snapshots) and its own rule_*.c file. */
#include "correlators/rule.h"

const struct ad_sw_rule *const ad_sw_rules[] = {
    [AD_SW_TOPOLOGY] = &ad_sw_rule_topology,
    [AD_SW_GROUP_BY] = &ad_sw_rule_group_by,
    [AD_SW_TEXT] = &ad_sw_rule_text,
    [AD_SW_COOCCUR] = &ad_sw_rule_cooccur,
    [AD_SW_MENTIONS] = &ad_sw_rule_mentions,
    [AD_SW_LEARNED] = &ad_sw_rule_learned,
    NULL,
};

size_t ad_sw_rule_count(void)
{
    return sizeof(ad_sw_rules) / sizeof(ad_sw_rules[0]) - 1;
}
