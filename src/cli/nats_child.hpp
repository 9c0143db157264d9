#pragma once
// A private nats-server run as a child process (for `stargate demo`): on 127.0.0.1, on a port the
// kernel picks (`-p -1`), read back from the ports file it writes (`--ports_file_dir`). Killed when
// the object goes (also on error), and by the kernel should this process die first.
#include "p2p/host/asio.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <sys/types.h>

namespace stargate::cli {

class NatsChild {
 public:
  // nats-server on $PATH (or in /usr/sbin, where Debian puts it); none when it is not installed.
  static std::optional<std::filesystem::path> find_binary();
  // Starts `binary` with its ports file and log in `dir`, and waits (polling on the io_context, at
  // most `timeout`) until it listens. Throws with the log's tail when it does not.
  static p2p::awaitable<std::unique_ptr<NatsChild>> start(std::filesystem::path binary, std::filesystem::path dir,
                                                          std::chrono::milliseconds timeout);
  ~NatsChild();  // SIGTERM, then SIGKILL if it lingers; waits for it
  NatsChild(const NatsChild&) = delete;
  NatsChild& operator=(const NatsChild&) = delete;

  const std::string& url() const { return url_; }  // nats://127.0.0.1:<port>

 private:
  NatsChild(pid_t pid, std::filesystem::path dir) : pid_(pid), dir_(std::move(dir)) {}
  std::string log_tail() const;

  pid_t pid_;
  std::filesystem::path dir_;
  std::string url_;
};

}  // namespace stargate::cli
