#include "cli/command_runner.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

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

}  // namespace

awaitable<CommandOutcome> run_command(const std::string& command, std::string input, std::size_t max_output) {
  auto executor = co_await asio::this_coro::executor;
  Pipe in, out, err;
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

  asio::posix::stream_descriptor stdin_pipe(executor, in.take(1));
  asio::posix::stream_descriptor stdout_pipe(executor, out.take(0));
  asio::posix::stream_descriptor stderr_pipe(executor, err.take(0));
  CommandOutcome outcome;
  bool overflow = false;
  // The program may write before it has read everything: feed and drain at once.
  bool fed = false;
  asio::co_spawn(executor, [&stdin_pipe, &input, &fed]() -> awaitable<void> {
    boost::system::error_code ec;
    co_await asio::async_write(stdin_pipe, asio::buffer(input), asio::redirect_error(use_awaitable, ec));
    stdin_pipe.close(ec);
    fed = true;
  }, asio::detached);
  bool err_done = false;
  asio::co_spawn(executor, [&]() -> awaitable<void> {
    co_await read_all(stderr_pipe, outcome.err, 64 * 1024, overflow);
    err_done = true;
  }, asio::detached);
  co_await read_all(stdout_pipe, outcome.out, max_output, overflow);
  if (overflow) ::kill(pid, SIGKILL);

  // stdout is closed: the program is finishing. Reap it without blocking the io_context.
  asio::steady_timer poll(executor);
  int status = 0;
  for (int waited_ms = 0;; waited_ms += 5) {
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    if (waited_ms == 5000) ::kill(pid, SIGKILL);
    poll.expires_after(std::chrono::milliseconds(5));
    co_await poll.async_wait(use_awaitable);
  }
  while (!err_done || !fed) {
    boost::system::error_code ec;
    stderr_pipe.close(ec);
    stdin_pipe.close(ec);
    poll.expires_after(std::chrono::milliseconds(1));
    co_await poll.async_wait(use_awaitable);
  }
  outcome.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  if (overflow) throw std::runtime_error("'" + command + "' wrote more than " + std::to_string(max_output) + " bytes");
  co_return outcome;
}

}  // namespace stargate::cli
