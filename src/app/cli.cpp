#include "app/cli.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "app/commands.h"

namespace cuifu {

int run_cli(int argc, char** argv) {
  CLI::App app{"cuifu — payment reminders (催付) for online shops: plan, send, backtest"};
  app.set_version_flag("--version", "cuifu 0.1.0");
  app.require_subcommand(1);
  CommandAction action;
  add_plan_command(app, action);
  add_check_command(app, action);
  add_run_command(app, action);
  add_state_commands(app, action);
  add_backtest_command(app, action);
  add_address_commands(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitInput;
  }
  try {
    return action ? action() : kExitInput;
  } catch (const std::exception& e) {
    // Configuration and input errors end here: one clear message, exit code 2.
    std::cerr << "cuifu: " << e.what() << "\n";
    return kExitInput;
  }
}

}  // namespace cuifu
