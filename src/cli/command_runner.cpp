#include "cli/command_runner.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <stdexcept>

extern char** environ;

namespace stargate::cli {
namespace {

using p2p::awaitable;
using p2p::use_awaitable;
namespace asio = boost::asio;

struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() {
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  }
  ~Pipe() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  int take(int which) { return std::exchange(fds[which], -1); }
};

awaitable<void> read_all(asio::posix::stream_descriptor& from, std::string& into, std::size_t limit, bool& overflow) {
  char buffer[16384];
  for (;;) {
    boost::system::error_code ec;
    auto n = co_await from.async_read_some(asio::buffer(buffer), asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    if (into.size() + n > limit) {
      overflow = true;
      co_return;
    }
    into.append(buffer, n);
  }
}

// Waits for `pid` without blocking the io_context; SIGKILL after `kill_after` (none: never).
awaitable<int> reap_child(pid_t pid, std::optional<std::chrono::milliseconds> kill_after) {
  asio::steady_timer poll(co_await asio::this_coro::executor);
  int status = 0;
  for (std::chrono::milliseconds waited{0};; waited += std::chrono::milliseconds(5)) {
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    if (kill_after && waited == *kill_after) ::kill(pid, SIGKILL);
    poll.expires_after(std::chrono::milliseconds(5));
    co_await poll.async_wait(use_awaitable);
  }
  co_return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// A spawned program's pipes, shared with the coroutines that feed and drain them: they may outlive
// the call that started them when it is cancelled.
struct ChildPipes {
  ChildPipes(asio::any_io_executor ex, int in, int out, int err) : stdin_pipe(ex, in), stdout_pipe(ex, out), stderr_pipe(ex, err) {}
  asio::posix::stream_descriptor stdin_pipe, stdout_pipe, stderr_pipe;
  std::string input;
  std::string err;
  bool err_overflow = false;
  bool err_done = false;
};

pid_t spawn_shell(const std::string& command, Pipe& in, Pipe& out, Pipe& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.fds[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out.fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err.fds[1], 2);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot run '" + command + "'");
  ::close(in.take(0));
  ::close(out.take(1));
  ::close(err.take(1));
  return pid;
}

// Runs `/bin/sh -c command`, feeding `input` and draining stderr on coroutines of their own while
// `on_output` takes stdout as it comes (reading waits while it waits). When it throws or this
// coroutine is cancelled, the program is killed and reaped in the background.
using OutputHandler = std::function<awaitable<void>(std::string_view chunk)>;
awaitable<CommandOutcome> run_child(const std::string& command, std::string input, const OutputHandler& on_output) {
  auto executor = co_await asio::this_coro::executor;
  Pipe in, out, err;
  const pid_t pid = spawn_shell(command, in, out, err);
  auto pipes = std::make_shared<ChildPipes>(executor, in.take(1), out.take(0), err.take(0));
  pipes->input = std::move(input);
  // The program may write before it has read everything: feed and drain at once.
  asio::co_spawn(executor, [pipes]() -> awaitable<void> {
    boost::system::error_code ec;
    co_await asio::async_write(pipes->stdin_pipe, asio::buffer(pipes->input), asio::redirect_error(use_awaitable, ec));
    pipes->stdin_pipe.close(ec);
  }, asio::detached);
  asio::co_spawn(executor, [pipes]() -> awaitable<void> {
    co_await read_all(pipes->stderr_pipe, pipes->err, 64 * 1024, pipes->err_overflow);
    pipes->err_done = true;
  }, asio::detached);
  std::exception_ptr failure;
  try {
    char buffer[16384];
    for (;;) {
      boost::system::error_code ec;
      auto n = co_await pipes->stdout_pipe.async_read_some(asio::buffer(buffer), asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
      if (ec) break;  // end of output
      co_await on_output(std::string_view(buffer, n));
    }
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    // Stopped midway (the caller cancelled, or the output was refused): the program goes, and is
    // reaped on a coroutine of its own (this one may be cancelled and unable to wait).
    ::kill(pid, SIGTERM);
    boost::system::error_code ec;
    pipes->stdout_pipe.close(ec);
    asio::co_spawn(executor, [pid, pipes]() -> awaitable<void> {
      co_await reap_child(pid, std::chrono::milliseconds(2000));
      boost::system::error_code ignored;
      pipes->stdin_pipe.close(ignored);
      pipes->stderr_pipe.close(ignored);
    }, asio::detached);
    std::rethrow_exception(failure);
  }
  // stdout is closed: the program is finishing.
  CommandOutcome outcome;
  outcome.exit_status = co_await reap_child(pid, std::chrono::milliseconds(5000));
  asio::steady_timer poll(executor);
  while (!pipes->err_done) {
    boost::system::error_code ec;
    pipes->stderr_pipe.close(ec);
    pipes->stdin_pipe.close(ec);
    poll.expires_after(std::chrono::milliseconds(1));
    co_await poll.async_wait(use_awaitable);
  }
  outcome.err = pipes->err;
  co_return outcome;
}

}  // namespace

awaitable<CommandOutcome> run_command_lines(const std::string& command, std::string input, LineHandler on_line,
                                            std::size_t max_line) {
  std::string pending;
  OutputHandler split = [&](std::string_view chunk) -> awaitable<void> {
    pending.append(chunk);
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (nl == start) continue;
      // Named: g++ 12 may destroy a temporary of a co_await expression twice (docs/building.md).
      std::string line = pending.substr(start, nl - start);
      co_await on_line(std::move(line));
    }
    pending.erase(0, start);
    if (pending.size() > max_line)
      throw std::runtime_error("'" + command + "' wrote a line longer than " + std::to_string(max_line) + " bytes");
  };
  auto outcome = co_await run_child(command, std::move(input), split);
  if (!pending.empty()) {
    std::string last = std::move(pending);
    co_await on_line(std::move(last));
  }
  co_return outcome;
}

awaitable<CommandOutcome> run_command(const std::string& command, std::string input, std::size_t max_output) {
  std::string out;
  OutputHandler collect = [&](std::string_view chunk) -> awaitable<void> {
    if (out.size() + chunk.size() > max_output)
      throw std::runtime_error("'" + command + "' wrote more than " + std::to_string(max_output) + " bytes");
    out.append(chunk);
    co_return;
  };
  auto outcome = co_await run_child(command, std::move(input), collect);
  outcome.out = std::move(out);
  co_return outcome;
}

}  // namespace stargate::cli
