#pragma once
// Test support: a real `nats-server` (Debian's /usr/sbin/nats-server) run as a child process.
//
// A server listens on 127.0.0.1 on a port the kernel picks (`-p -1`) and writes the ports it bound
// to a file (`--ports_file_dir`), which start() reads back (polling the file with short waits,
// bounded in total): no fixed port, no fixed sleep. The process is killed when the NatsServer is
// destroyed (also when a test fails or throws), and the child asks the kernel to kill it should the
// test process die first (PR_SET_PDEATHSIG). Its log is kept in a temporary directory and quoted
// in the exception when it does not start.
//
// Clusters: the first server listens for routes on a random port (`--cluster nats://127.0.0.1:-1`,
// read back from the ports file); the others get `--routes` to it and learn about each other by
// gossip, so no port is ever guessed. wait_for_routes() polls each server's monitoring endpoint
// (`-m -1`, `/routez`) until the full mesh is up; wait_for_interest() polls `/subsz` and
// `/routez?subs=1` until a subscription made on another server has propagated, so a test never
// publishes into a void.
#include <chrono>
#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace stargate::testing {

struct NatsServerOptions {
  std::string token;                        // --auth
  std::string user, password;               // --user / --pass
  bool cluster = false;                     // listen for routes (random port unless cluster_port)
  std::string cluster_name = "stargate-test";
  std::vector<std::string> routes;          // --routes (comma-joined)
  std::vector<std::string> extra_args;      // anything else, passed as is
  std::string config;                       // configuration file text (e.g. "max_payload: 65536"), `-c`
  // JetStream (`-js`), storing in a directory of the server's temporary folder that restart()
  // keeps: a restarted server has its streams, consumers and messages back.
  bool jetstream = false;
  int port = -1;                            // client port; -1: the kernel picks one
  int cluster_port = -1;                    // route port; -1: the kernel picks one
  std::chrono::milliseconds start_timeout{10000};
};

class NatsServer {
 public:
  static NatsServer start(NatsServerOptions options = {});

  NatsServer(NatsServer&& other) noexcept;
  NatsServer& operator=(NatsServer&& other) noexcept;
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;
  ~NatsServer();

  std::string url() const;            // nats://127.0.0.1:<port>
  int port() const { return port_; }
  int cluster_port() const { return cluster_port_; }  // 0 without a cluster
  std::string cluster_url() const;    // nats://127.0.0.1:<cluster port>
  int monitoring_port() const { return monitoring_port_; }
  bool running() const { return pid_ > 0; }
  const NatsServerOptions& options() const { return options_; }

  // Terminates the server (SIGTERM, then SIGKILL if it lingers) and waits for it.
  void stop();
  // SIGSTOP / SIGCONT: a server that stops reading without closing anything.
  void pause();
  void resume();
  // Starts again on the same client and route ports, so that clients and routes reconnect (and,
  // with jetstream, on the same store).
  void restart();
  // Same, with changed options (a new token, say); the ports stay the same.
  void restart(NatsServerOptions changed);

  // GET http://127.0.0.1:<monitoring port><path>; throws on failure. Blocking, bounded.
  std::string monitor(const std::string& path) const;
  // The server's log so far (for failure messages).
  std::string log() const;
  // Where JetStream stores (empty without jetstream); the same across restarts.
  std::filesystem::path store_dir() const;

  // Polls /routez until num_routes >= expected; throws on timeout.
  void wait_for_routes(int expected, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // Polls until a message published on `subject` to this server would reach a subscriber: one of
  // its own clients (/subsz) or another server's, known through a route (/routez?subs=1). Throws
  // on timeout.
  void wait_for_interest(const std::string& subject,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  NatsServer() = default;
  void launch();

  NatsServerOptions options_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int cluster_port_ = 0;
  int monitoring_port_ = 0;
  int generation_ = 0;
};

// NATS subject matching: `*` matches one token, a final `>` one or more.
bool subject_matches(const std::string& pattern, const std::string& subject);

// n servers joined by routes (full mesh through gossip from the first one).
class NatsCluster {
 public:
  static NatsCluster start(int size, NatsServerOptions common = {});

  NatsServer& server(std::size_t index) { return servers_.at(index); }
  const NatsServer& server(std::size_t index) const { return servers_.at(index); }
  std::size_t size() const { return servers_.size(); }
  std::vector<std::string> urls() const;
  // Every server sees every other one.
  void wait_for_routes(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  std::vector<NatsServer> servers_;
};

}  // namespace stargate::testing
