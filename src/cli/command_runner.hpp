#pragma once
// Runs a local program for `connect --serve METHOD=COMMAND`: the params go to its stdin as JSON,
// its stdout is the result. Asynchronous (pipes on the io_context), so a slow program delays only
// its own call.
#include "p2p/host/asio.hpp"

#include <functional>
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

// For `connect --serve-stream METHOD=COMMAND`: runs `/bin/sh -c command` with `input` on stdin and
// hands each line of its stdout to `on_line` as it comes. Reading waits while `on_line` waits, so a
// program that writes faster than the caller reads blocks on its full pipe: the caller's pace is
// the program's. A line over `max_line` bytes is an error. When `on_line` throws or the coroutine
// is cancelled, the program is killed (SIGTERM, SIGKILL 2 s later) and reaped in the background,
// and the exception goes on. The outcome's `out` stays empty.
using LineHandler = std::function<p2p::awaitable<void>(std::string line)>;
p2p::awaitable<CommandOutcome> run_command_lines(const std::string& command, std::string input, LineHandler on_line,
                                                 std::size_t max_line = 1'000'000);

}  // namespace stargate::cli
