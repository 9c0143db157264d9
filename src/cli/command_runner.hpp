#pragma once
// Runs a local program for `connect --serve METHOD=COMMAND`: the params go to its stdin as JSON,
// its stdout is the result. Asynchronous (pipes on the io_context), so a slow program delays only
// its own call.
#include "p2p/host/asio.hpp"

#include <string>

namespace stargate::cli {

struct CommandOutcome {
  int exit_status = -1;  // exit code, or -signal
  std::string out;
  std::string err;
};

// Runs `/bin/sh -c command`; output beyond `max_output` bytes is an error (the program is killed).
p2p::awaitable<CommandOutcome> run_command(const std::string& command, std::string input,
                                           std::size_t max_output = 10'000'000);

}  // namespace stargate::cli
