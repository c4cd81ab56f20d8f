// `cuifu run`: the daemon, for systemd (or a rehearsal on a simulated clock).
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "app/commands.h"
#include "app/daemon.h"

namespace cuifu {

namespace {

struct RunOptions {
  std::string config;
  std::string simulate_from;
  double speed = 1;
  std::string log_level = "info";
};

int run_daemon(const RunOptions& o) {
  // stderr, no colours and no timestamps of our own when journald adds them.
  auto logger = spdlog::stderr_logger_mt("cuifu");
  logger->set_pattern(o.simulate_from.empty() ? "%Y-%m-%d %H:%M:%S.%e %^%l%$ %v" : "%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(o.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);

  DaemonOptions d;
  d.config_path = o.config;
  if (!o.simulate_from.empty()) {
    const auto t = parse_local_time(o.simulate_from);
    if (!t)
      throw std::runtime_error(
          fmt::format("--simulate-from '{}' is not a time like \"2026-11-24 08:00\"", o.simulate_from));
    d.simulate_from = *t;
  }
  d.speed = o.speed;
  Daemon daemon(d);
  return daemon.run();
}

}  // namespace

void add_run_command(CLI::App& app, CommandAction& action) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand("run", "Run the reminder daemon (SIGTERM stops, SIGHUP reloads)");
  cmd->add_option("--config", o->config, "Daemon config (cuifu.yaml)")->required();
  cmd->add_option("--simulate-from", o->simulate_from,
                  "Rehearsal: run on a simulated clock starting at this local time \"YYYY-MM-DD HH:MM\"");
  cmd->add_option("--speed", o->speed, "Rehearsal: simulated seconds per real second (default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--log-level", o->log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  cmd->callback([o, &action] { action = [o] { return run_daemon(*o); }; });
}

}  // namespace cuifu
