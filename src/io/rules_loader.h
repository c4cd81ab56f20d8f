// Loads the rules directory (every *.yaml in it, in name order) into a Rules value, and the
// templates directory into a TemplateSet. Errors name file:line:column and the key; all
// errors of a run are reported together (LoadError, one per line).
#pragma once

#include <string>
#include <vector>

#include "core/rules.h"
#include "core/templates.h"
#include "io/yaml_util.h"

namespace cuifu {

// REQUIRES: dir exists and holds at least one .yaml file.
// The gazetteer that rules/address.yaml names by a relative path is read next to that file,
// else from installed_data_dir() (a copied rules/ directory has no ../data beside it).
Rules load_rules(const std::string& dir);

// The installed data files (data/gazetteer.tsv): $CUIFU_DATA if set, else share/cuifu/data.
std::string installed_data_dir();

// Templates: one file per channel, <dir>/{im,sms,phone,email}.yaml, each a map of template
// name -> text (email: name -> {subject, body}). Every template is compiled and checked
// against its channel in `rules` (SMS fit, name position), so send time never meets a bad one.
TemplateSet load_templates(const std::string& dir, const Rules& rules);

// Every template a rule step (or its fallback) needs exists. Returns located messages.
std::vector<std::string> check_rule_templates(const Rules& rules, const TemplateSet& templates);

// Rules + templates, loaded and cross-checked together.
struct RuleSet {
  Rules rules;
  TemplateSet templates;
  std::string rules_dir;
  std::string templates_dir;
};
RuleSet load_rule_set(const std::string& rules_dir, const std::string& templates_dir);

}  // namespace cuifu
