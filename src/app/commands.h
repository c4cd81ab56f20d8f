// Subcommand registration. Each command lives in its own file and adds itself to the CLI;
// its handler returns the process exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace cuifu {

// Set by a subcommand's callback: what main runs once parsing succeeded.
using CommandAction = std::function<int()>;

void add_plan_command(CLI::App& app, CommandAction& action);
void add_check_command(CLI::App& app, CommandAction& action);
void add_run_command(CLI::App& app, CommandAction& action);
// outbox, calls, optout
void add_state_commands(CLI::App& app, CommandAction& action);
void add_backtest_command(CLI::App& app, CommandAction& action);
// explain --address, segments --eval
void add_address_commands(CLI::App& app, CommandAction& action);

// Exit codes shared by all commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;  // check found problems; a run had failures
inline constexpr int kExitInput = 2;     // bad usage, unreadable input, invalid rules

// Keeps `value` until the process ends instead of freeing it now: a command's last act is to
// return to main, which exits, and the system takes its memory back at once, while freeing a
// million orders and reminders string by string took 6 % of a backtest's CPU (compilers skip
// that free too). For the big structures of plan and backtest only; run_cli is called once per
// process (main), never in a loop. The values stay reachable (no leak report).
template <class T>
void keep_until_exit(T&& value) {
  static auto* kept = new std::vector<std::shared_ptr<void>>;
  kept->push_back(std::make_shared<std::decay_t<T>>(std::forward<T>(value)));
}

}  // namespace cuifu
