#include "nats_server.hpp"

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace stargate::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Between two polls of a file or an endpoint: short, and always bounded by a deadline.
constexpr auto kPollInterval = 10ms;

std::string server_binary() {
  if (const char* env = std::getenv("STARGATE_NATS_SERVER"); env != nullptr && *env != '\0') return env;
  if (::access("/usr/sbin/nats-server", X_OK) == 0) return "/usr/sbin/nats-server";
  return "nats-server";  // through PATH
}

int port_of(const std::string& url) {
  auto colon = url.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("nats-server ports file: no port in " + url);
  return std::stoi(url.substr(colon + 1));
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string join(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

// Waits for the child to exit, up to `timeout`; true when it did.
bool wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
}

}  // namespace

bool subject_matches(const std::string& pattern, const std::string& subject) {
  auto split = [](const std::string& s) {
    std::vector<std::string> tokens;
    std::size_t start = 0;
    for (;;) {
      auto dot = s.find('.', start);
      tokens.push_back(s.substr(start, dot - start));
      if (dot == std::string::npos) return tokens;
      start = dot + 1;
    }
  };
  auto p = split(pattern), t = split(subject);
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ">") return t.size() > i;
    if (i >= t.size() || (p[i] != "*" && p[i] != t[i])) return false;
  }
  return p.size() == t.size();
}

NatsServer NatsServer::start(NatsServerOptions options) {
  NatsServer server;
  server.options_ = std::move(options);
  std::string pattern = (std::filesystem::temp_directory_path() / "stargate-nats-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  server.dir_ = pattern;
  server.launch();
  return server;
}

NatsServer::NatsServer(NatsServer&& other) noexcept
    : options_(std::move(other.options_)),
      dir_(std::exchange(other.dir_, {})),
      pid_(std::exchange(other.pid_, -1)),
      port_(other.port_),
      cluster_port_(other.cluster_port_),
      monitoring_port_(other.monitoring_port_),
      generation_(other.generation_) {}

NatsServer& NatsServer::operator=(NatsServer&& other) noexcept {
  if (this != &other) {
    this->~NatsServer();
    new (this) NatsServer(std::move(other));
  }
  return *this;
}

NatsServer::~NatsServer() {
  stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string NatsServer::url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
std::string NatsServer::cluster_url() const { return "nats://127.0.0.1:" + std::to_string(cluster_port_); }
std::string NatsServer::log() const { return read_file(dir_ / "server.log"); }
std::filesystem::path NatsServer::store_dir() const {
  return options_.jetstream ? dir_ / "jetstream" : std::filesystem::path();
}

void NatsServer::launch() {
  ++generation_;
  std::vector<std::string> args{server_binary(), "-a", "127.0.0.1", "-p", std::to_string(options_.port), "-m", "-1",
                                "--ports_file_dir", dir_.string()};
  if (!options_.token.empty()) args.insert(args.end(), {"--auth", options_.token});
  if (!options_.user.empty()) args.insert(args.end(), {"--user", options_.user, "--pass", options_.password});
  if (options_.cluster) {
    args.insert(args.end(), {"--cluster", "nats://127.0.0.1:" + std::to_string(options_.cluster_port),
                             "--cluster_name", options_.cluster_name});
  }
  if (!options_.routes.empty()) args.insert(args.end(), {"--routes", join(options_.routes, ",")});
  if (options_.jetstream) args.insert(args.end(), {"-js", "--store_dir", store_dir().string()});
  if (!options_.config.empty()) {
    auto config_path = dir_ / "server.conf";
    std::ofstream(config_path, std::ios::binary | std::ios::trunc) << options_.config << "\n";
    args.insert(args.end(), {"-c", config_path.string()});
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());

  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  auto log_path = (dir_ / "server.log").string();
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_path + ": " + std::strerror(errno));
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  pid_ = pid;

  // Wait for the ports file (written once the server listens), bounded.
  auto ports_file = dir_ / ("nats-server_" + std::to_string(pid) + ".ports");
  auto deadline = Clock::now() + options_.start_timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::string why = WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (is nats-server installed?)" : "";
      throw std::runtime_error("nats-server exited at start" + why + "; its log:\n" + log());
    }
    std::error_code ec;
    if (std::filesystem::exists(ports_file, ec)) {
      boost::system::error_code json_ec;
      auto doc = boost::json::parse(read_file(ports_file), json_ec);
      if (!json_ec && doc.is_object() && doc.as_object().contains("nats")) {
        const auto& obj = doc.as_object();
        auto first = [&](const char* key) -> int {
          auto* value = obj.if_contains(key);
          if (value == nullptr || !value->is_array() || value->as_array().empty()) return 0;
          return port_of(std::string(value->as_array()[0].as_string()));
        };
        port_ = first("nats");
        monitoring_port_ = first("monitoring");
        cluster_port_ = first("cluster");
        if (port_ > 0 && monitoring_port_ > 0 && (!options_.cluster || cluster_port_ > 0)) break;
      }
    }
    if (Clock::now() >= deadline) {
      auto text = log();
      stop();
      throw std::runtime_error("nats-server wrote no ports file within " +
                               std::to_string(options_.start_timeout.count()) + " ms; its log:\n" + text);
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

void NatsServer::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void NatsServer::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

void NatsServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  ::kill(pid_, SIGCONT);  // in case it was paused
  if (!wait_exit(pid_, 5s)) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
}

void NatsServer::restart() { restart(options_); }

void NatsServer::restart(NatsServerOptions changed) {
  stop();
  changed.port = port_;
  if (changed.cluster) changed.cluster_port = cluster_port_;
  options_ = std::move(changed);
  launch();
}

std::string NatsServer::monitor(const std::string& path) const {
  if (monitoring_port_ <= 0 || pid_ <= 0) throw std::runtime_error("nats-server monitoring: server not running");
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(monitoring_port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("nats-server monitoring: connect: " + std::string(std::strerror(errno)));
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
    throw std::runtime_error("nats-server monitoring: send failed");
  std::string response;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) throw std::runtime_error("nats-server monitoring: recv: " + std::string(std::strerror(errno)));
    if (n == 0) break;
    response.append(buffer, static_cast<std::size_t>(n));
    if (response.size() > (64u << 20)) throw std::runtime_error("nats-server monitoring: response too large");
  }
  auto end_of_headers = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || end_of_headers == std::string::npos || response.find(" 200 ") > 12)
    throw std::runtime_error("nats-server monitoring: bad response to " + path + ": " + response.substr(0, 200));
  return response.substr(end_of_headers + 4);
}

void NatsServer::wait_for_routes(int expected, std::chrono::milliseconds timeout) const {
  auto deadline = Clock::now() + timeout;
  std::int64_t routes = -1;
  for (;;) {
    auto doc = boost::json::parse(monitor("/routez"));
    routes = doc.as_object().at("num_routes").to_number<std::int64_t>();
    if (routes >= expected) return;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  throw std::runtime_error("nats-server " + url() + ": " + std::to_string(routes) + " routes after " +
                           std::to_string(timeout.count()) + " ms, expected " + std::to_string(expected));
}

void NatsServer::wait_for_interest(const std::string& subject, std::chrono::milliseconds timeout) const {
  auto deadline = Clock::now() + timeout;
  auto any_match = [&](const boost::json::value* list) {
    if (list == nullptr || !list->is_array()) return false;
    for (const auto& entry : list->as_array()) {
      const boost::json::value* pattern = &entry;
      if (entry.is_object()) pattern = entry.as_object().if_contains("subject");
      if (pattern != nullptr && pattern->is_string() && subject_matches(std::string(pattern->as_string()), subject))
        return true;
    }
    return false;
  };
  for (;;) {
    // Interest from this server's own clients (`test` keeps the subscriptions `subject` reaches)...
    auto local = boost::json::parse(monitor("/subsz?subs=1&test=" + subject));
    if (any_match(local.as_object().if_contains("subscriptions_list"))) return;
    // ...and from other servers, which /subsz does not show: /routez lists each route's subjects.
    auto routes = boost::json::parse(monitor("/routez?subs=1"));
    if (const auto* list = routes.as_object().if_contains("routes"); list != nullptr && list->is_array()) {
      for (const auto& route : list->as_array())
        if (route.is_object() && any_match(route.as_object().if_contains("subscriptions_list"))) return;
    }
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  throw std::runtime_error("nats-server " + url() + ": no interest in " + subject + " after " +
                           std::to_string(timeout.count()) + " ms");
}

NatsCluster NatsCluster::start(int size, NatsServerOptions common) {
  NatsCluster cluster;
  common.cluster = true;
  common.port = -1;
  common.cluster_port = -1;
  common.routes.clear();
  cluster.servers_.push_back(NatsServer::start(common));
  auto seed = cluster.servers_.front().cluster_url();
  for (int i = 1; i < size; ++i) {
    auto options = common;
    options.routes = {seed};
    cluster.servers_.push_back(NatsServer::start(options));
  }
  cluster.wait_for_routes();
  return cluster;
}

std::vector<std::string> NatsCluster::urls() const {
  std::vector<std::string> out;
  for (const auto& server : servers_) out.push_back(server.url());
  return out;
}

void NatsCluster::wait_for_routes(std::chrono::milliseconds timeout) const {
  for (const auto& server : servers_) server.wait_for_routes(static_cast<int>(servers_.size()) - 1, timeout);
}

}  // namespace stargate::testing
