// Entry point of the cuifu command line: parses arguments, dispatches to a subcommand,
// turns fatal errors into one line on stderr and an exit code.
#pragma once

namespace cuifu {

// Exit codes: 0 ok, 1 findings (check) / failures, 2 usage or input error.
int run_cli(int argc, char** argv);

}  // namespace cuifu
