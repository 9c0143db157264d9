#include "cli/nats_child.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace stargate::cli {
namespace {

namespace asio = boost::asio;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The first client URL in a ports file ({"nats":["nats://127.0.0.1:4222"],…}); empty until the
// file is there and complete.
std::string client_url(const std::filesystem::path& ports_file) {
  boost::system::error_code ec;
  auto doc = boost::json::parse(read_text(ports_file), ec);
  if (ec || !doc.is_object()) return {};
  const auto* urls = doc.as_object().if_contains("nats");
  if (!urls || !urls->is_array() || urls->as_array().empty() || !urls->as_array()[0].is_string()) return {};
  return std::string(urls->as_array()[0].as_string());
}

}  // namespace

std::optional<std::filesystem::path> NatsChild::find_binary() {
  std::vector<std::filesystem::path> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::istringstream in(path);
    for (std::string dir; std::getline(in, dir, ':');)
      if (!dir.empty()) dirs.emplace_back(dir);
  }
  dirs.emplace_back("/usr/sbin");
  for (const auto& dir : dirs) {
    auto candidate = dir / "nats-server";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

p2p::awaitable<std::unique_ptr<NatsChild>> NatsChild::start(std::filesystem::path binary, std::filesystem::path dir,
                                                            std::chrono::milliseconds timeout) {
  std::vector<std::string> args{binary.string(), "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", dir.string()};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  auto log_path = dir / "nats-server.log";
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_path.string() + ": " + std::strerror(errno));
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    throw std::runtime_error(std::string("cannot start nats-server: fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // The child: async-signal-safe calls only until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  std::unique_ptr<NatsChild> child(new NatsChild(pid, dir));

  const auto ports_file = dir / ("nats-server_" + std::to_string(pid) + ".ports");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer poll(co_await asio::this_coro::executor);
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      child->pid_ = -1;
      throw std::runtime_error("nats-server exited at start: " + child->log_tail());
    }
    std::error_code ec;
    if (std::filesystem::exists(ports_file, ec)) {
      child->url_ = client_url(ports_file);
      if (!child->url_.empty()) co_return child;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("nats-server did not listen within " + std::to_string(timeout.count()) +
                               " ms: " + child->log_tail());
    poll.expires_after(std::chrono::milliseconds(10));
    co_await poll.async_wait(p2p::use_awaitable);
  }
}

std::string NatsChild::log_tail() const {
  auto text = read_text(dir_ / "nats-server.log");
  if (text.size() > 2000) text = "…" + text.substr(text.size() - 2000);
  return text.empty() ? "(no log)" : text;
}

NatsChild::~NatsChild() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  // Bounded: a server that has not exited after 2 s is killed outright.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace stargate::cli
