#pragma once
// The local control endpoint of a running agent: a unix socket in its identity directory (mode
// 0600, and only processes of the same user are answered), speaking JSON-RPC 2.0, one JSON
// object per line. `stargate call|discover|announce|status` use it when an agent runs, so they
// reuse its identity, connections and sessions; any program on the machine can do the same
// (docs/protocol.md, "Control socket").
//
// Methods: call {peer, method, params?, timeout_ms?} -> result; discover {capability?} -> [peers];
// announce {} -> true; status {} -> {...}; metrics {} -> "text".
#include "agent/status_json.hpp"
#include "stargate/node.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace stargate::agent {

inline constexpr const char* control_socket_name = "stargate.sock";
// A request line may carry 10 MB of params plus the envelope.
inline constexpr std::size_t control_max_line = 11 * 1000 * 1000;

std::filesystem::path control_socket_path(const std::filesystem::path& identity_dir);

class ControlServer {
 public:
  // Binds the socket (replacing a stale one left by a crashed agent; refusing when a live agent
  // answers on it) and serves until destroyed. Throws std::runtime_error with a clear message.
  ControlServer(boost::asio::any_io_executor executor, StarGateNode& node, std::filesystem::path path);
  ~ControlServer();
  const std::filesystem::path& path() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// One request to a running agent. Returns nullopt when no agent listens at `path` (no socket, or
// a stale one); throws CallError for a JSON-RPC error answer.
boost::asio::awaitable<std::optional<boost::json::value>> control_request(const std::filesystem::path& path,
                                                                          std::string method,
                                                                          boost::json::value params);


}  // namespace stargate::agent
