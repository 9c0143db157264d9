#include "agent/control_socket.hpp"

#include "agent/control_request.hpp"
#include "agent/jsonrpc.hpp"
#include "agent/resource_report.hpp"
#include "base/log.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace stargate::agent {

namespace asio = boost::asio;
namespace json = boost::json;
using local = asio::local::stream_protocol;
using asio::awaitable;
using asio::use_awaitable;

namespace {

// Reads one '\n'-terminated line, at most control_max_line bytes; nullopt at a clean end.
awaitable<std::optional<std::string>> read_line(local::socket& socket, asio::streambuf& buffer) {
  boost::system::error_code ec;
  std::size_t n = co_await asio::async_read_until(socket, buffer, '\n', asio::redirect_error(use_awaitable, ec));
  if (ec) {
    if (ec == asio::error::not_found) throw std::runtime_error("control request line too long");
    co_return std::nullopt;
  }
  std::string line(asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(n - 1));
  buffer.consume(n);
  co_return line;
}

// The uid of the process at the other end of a connected unix socket (SO_PEERCRED: the kernel's
// record of who connected or, for a client, who listens); nullopt if the kernel cannot say.
std::optional<uid_t> peer_uid(local::socket& socket) {
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return std::nullopt;
  return credentials.uid;
}

// Both ends of the control socket trust only their own user: the server answers only clients with
// its effective uid, and the client talks only to a server with its effective uid. Not root either:
// an agent run by root is not this user's agent, and a CLI run by root does not talk to a user's.
bool same_user(local::socket& socket) {
  auto uid = peer_uid(socket);
  return uid && *uid == ::geteuid();
}

}  // namespace

std::filesystem::path control_socket_path(const std::filesystem::path& identity_dir) {
  return identity_dir / control_socket_name;
}

struct ControlServer::Impl : std::enable_shared_from_this<ControlServer::Impl> {
  Impl(asio::any_io_executor ex, StarGateNode& n, std::filesystem::path p)
      : executor(ex), node(n), path(std::move(p)), acceptor(ex) {}

  asio::any_io_executor executor;
  StarGateNode& node;
  std::filesystem::path path;
  local::acceptor acceptor;
  bool closed = false;

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!closed) {
      boost::system::error_code ec;
      local::socket socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      if (!same_user(socket)) {
        log::module<"control">()->warn("control socket: refused a process of another user");
        continue;
      }
      asio::co_spawn(executor, serve(std::move(socket)), asio::detached);
    }
  }

  awaitable<void> serve(local::socket socket) {
    auto self = shared_from_this();
    asio::streambuf buffer(control_max_line);
    try {
      while (!closed) {
        auto line = co_await read_line(socket, buffer);
        if (!line) break;
        auto reply = co_await answer(*line);
        co_await asio::async_write(socket, asio::buffer(reply), use_awaitable);
      }
    } catch (const std::exception& e) {
      log::module<"control">()->debug("control connection closed: {}", e.what());
    }
  }

  awaitable<std::string> answer(const std::string& line) {
    auto request = parse_control_request(line);
    if (!request) co_return make_error_response(request.error().id, request.error().error) + "\n";
    std::optional<CallError> failure;
    json::value result;
    try {
      if (auto* call = std::get_if<ControlCall>(&request->command)) {
        CallOptions options;
        options.timeout = call->timeout;
        options.via = call->via;
        result = co_await node.call(std::move(call->peer), std::move(call->method), std::move(call->params), options);
      } else if (auto* discover = std::get_if<ControlDiscover>(&request->command)) {
        json::array peers;
        for (const auto& p : co_await node.discover(discover->capability)) peers.push_back(to_json(p));
        result = std::move(peers);
      } else if (std::holds_alternative<ControlAnnounce>(request->command)) {
        co_await node.announce();
        result = true;
      } else if (std::holds_alternative<ControlStatus>(request->command)) {
        result = to_json(node.get_status());
      } else {
        result = json::string(node.get_metrics());
      }
    } catch (const CallError& e) {
      failure = e;
    }
    if (failure) co_return make_error_response(request->id, RpcError{failure->code(), failure->what(), failure->data()}) + "\n";
    co_return make_response(request->id, result) + "\n";
  }
};

static bool someone_listens(const std::filesystem::path& path, asio::any_io_executor executor) {
  local::socket probe(executor);
  boost::system::error_code ec;
  probe.connect(local::endpoint(path.string()), ec);
  return !ec;
}

ControlServer::ControlServer(asio::any_io_executor executor, StarGateNode& node, std::filesystem::path path)
    : impl_(std::make_shared<Impl>(executor, node, std::move(path))) {
  const auto& p = impl_->path;
  if (p.string().size() >= sizeof(sockaddr_un{}.sun_path))
    throw std::runtime_error("control socket path " + p.string() + " is too long for a unix socket (max 107 bytes): use a shorter --identity-dir");
  if (std::filesystem::exists(p)) {
    if (someone_listens(p, executor))
      throw std::runtime_error("an agent with this identity is already running (control socket " + p.string() + ")");
    std::filesystem::remove(p);  // left by an agent that crashed
  }
  // The umask makes the socket 0600 from its creation, not after a window.
  mode_t previous = ::umask(0077);
  boost::system::error_code ec;
  impl_->acceptor.open(local());
  impl_->acceptor.bind(local::endpoint(p.string()), ec);
  ::umask(previous);
  if (ec) throw std::runtime_error("cannot create control socket " + p.string() + ": " + ec.message());
  ::chmod(p.c_str(), 0600);
  impl_->acceptor.listen();
  asio::co_spawn(executor, impl_->accept_loop(), asio::detached);
}

ControlServer::~ControlServer() {
  impl_->closed = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  std::filesystem::remove(impl_->path, ignored);
}

const std::filesystem::path& ControlServer::path() const { return impl_->path; }

// Before anything is sent, the client checks that the socket is its own user's: the file (lstat:
// a socket, not a symlink, owned by our effective uid) and then the process listening on it
// (SO_PEERCRED, same_user). Another user who could write the identity directory could otherwise
// plant a socket there and receive this user's calls, and answer them. A refusal is an error
// (std::runtime_error), never a silent fallback to another way of calling.
awaitable<std::optional<json::value>> control_request(const std::filesystem::path& path, std::string method,
                                                      json::value params) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) co_return std::nullopt;  // no agent
    throw std::runtime_error("cannot access control socket " + path.string() + ": " + std::strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode)) {
    throw std::runtime_error("control socket " + path.string() +
                             " is not a socket: refusing to use it (remove it if no agent runs)");
  }
  if (st.st_uid != ::geteuid()) {
    throw std::runtime_error("control socket " + path.string() + " belongs to uid " + std::to_string(st.st_uid) +
                             ", not to this user (uid " + std::to_string(::geteuid()) +
                             "): refusing to send it anything (someone else may have planted it)");
  }
  local::socket socket(co_await asio::this_coro::executor);
  boost::system::error_code ec;
  co_await socket.async_connect(local::endpoint(path.string()), asio::redirect_error(use_awaitable, ec));
  if (ec) co_return std::nullopt;  // stale socket: no agent
  if (!same_user(socket)) {
    auto uid = peer_uid(socket);
    throw std::runtime_error("the process listening on control socket " + path.string() + " runs as " +
                             (uid ? "uid " + std::to_string(*uid) : std::string("an unknown user")) +
                             ", not as this user (uid " + std::to_string(::geteuid()) +
                             "): refusing to send it anything (someone else may have planted it)");
  }
  auto line = make_request(method, params, RequestId(std::int64_t{1}), "") + "\n";
  co_await asio::async_write(socket, asio::buffer(line), use_awaitable);
  asio::streambuf buffer(control_max_line);
  auto reply = co_await read_line(socket, buffer);
  if (!reply) throw CallError(static_cast<int>(ErrorCode::unreachable), "the running agent closed the control socket");
  auto response = parse_response(*reply);
  if (!response) throw CallError(response.error().code, response.error().message);
  if (!response->outcome) {
    const auto& e = response->outcome.error();
    throw CallError(e.code, e.message, e.data);
  }
  co_return std::move(*response->outcome);
}

}  // namespace stargate::agent
