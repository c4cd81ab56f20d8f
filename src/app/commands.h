// Subcommand registration. Each command lives in its own file and adds itself to the CLI;
// its handler returns the process exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

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

}  // namespace cuifu
