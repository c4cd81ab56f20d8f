// `cuifu check`: validate rules and templates, render every template, lint the wording.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "app/commands.h"
#include "app/paths.h"
#include "core/text.h"
#include "io/config.h"
#include "io/rules_loader.h"

namespace cuifu {

namespace {

struct CheckOptions {
  std::string rules_dir;
  std::string templates_dir;
  bool verbose = false;
  std::string config;  // the daemon's cuifu.yaml; its rules and templates dirs are the defaults
};

int run_check(const CheckOptions& o) {
  std::string config_rules, config_templates;
  if (!o.config.empty()) {
    try {
      const DaemonConfig config = load_daemon_config(o.config);
      config_rules = config.rules_dir;
      config_templates = config.templates_dir;
      for (const auto& name : missing_secrets(config)) {
        std::cout << fmt::format("{}: note: environment variable {} is not set here\n", o.config, name);
      }
      std::cout << fmt::format("{}: config ok\n", o.config);
    } catch (const LoadError& e) {
      std::cout << e.what() << "\n";
      return kExitFindings;
    }
  }
  const std::string rules_dir = !o.rules_dir.empty()    ? o.rules_dir
                                : !config_rules.empty() ? config_rules
                                                        : default_dir("rules");
  const std::string templates_dir = !o.templates_dir.empty()    ? o.templates_dir
                                    : !config_templates.empty() ? config_templates
                                                                : default_dir("templates");
  // The same load as plan, run, backtest and a SIGHUP reload: whatever refuses them is
  // reported here, one finding per line.
  RuleSet set;
  try {
    set = load_rule_set(rules_dir, templates_dir);
  } catch (const LoadError& e) {
    const std::string text = e.what();
    std::cout << text << "\n";
    const auto findings = std::count(text.begin(), text.end(), '\n') + 1;
    std::cout << fmt::format("{} finding{}: plan, run, backtest and a SIGHUP reload refuse these rules\n", findings,
                             findings == 1 ? "" : "s");
    return kExitFindings;
  }
  int findings = 0;
  const MessageFields sample = sample_fields();
  for (const auto& t : set.templates.all()) {
    const ChannelRule* ch = set.rules.channel(t.channel);
    if (o.verbose) {
      const auto msg = render(t, sample, ch);
      std::cout << fmt::format("{}: {} {} ({} chars): {}\n", t.source.str(), to_string(t.channel), t.name,
                               msg ? char_count(msg->text) : 0, msg ? msg->text : "(does not fit)");
    }
  }
  std::size_t steps = 0;
  for (const auto& s : set.rules.segments) steps += s.steps.size();
  std::cout << fmt::format("{}: {} segments, {} steps, {} channels; {}: {} templates; {} finding{}\n", rules_dir,
                           set.rules.segments.size(), steps, set.rules.channels.size(), templates_dir,
                           set.templates.all().size(), findings, findings == 1 ? "" : "s");
  return findings ? kExitFindings : kExitOk;
}

}  // namespace

void add_check_command(CLI::App& app, CommandAction& action) {
  auto o = std::make_shared<CheckOptions>();
  auto* cmd = app.add_subcommand("check", "Validate and lint rules and templates; exit 1 on any finding");
  cmd->add_option("--rules", o->rules_dir, "Rules directory (default: ./rules)");
  cmd->add_option("--templates", o->templates_dir, "Templates directory (default: ./templates)");
  cmd->add_option("--config", o->config, "Also validate the daemon's config file (cuifu.yaml)");
  cmd->add_flag("-v,--verbose", o->verbose, "Also print every template rendered with sample values");
  cmd->callback([o, &action] { action = [o] { return run_check(*o); }; });
}

}  // namespace cuifu
