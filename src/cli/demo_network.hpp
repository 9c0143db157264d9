#pragma once
// The local network `stargate demo` runs in one process, on one io_context: a private nats-server
// (when one is given), two relays (primary and backup) and three agents. alice and bob listen on
// loopback; carol listens nowhere and reserves a slot on both relays, so that she is reachable only
// through a relay or over NATS. Identities live in a fresh temporary directory, removed at the end.
#include "cli/demo_report.hpp"
#include "cli/nats_child.hpp"
#include "agent/relay_node.hpp"
#include "stargate/node.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace stargate::cli {

struct DemoAgent {
  std::string name;
  std::unique_ptr<StarGateNode> node;
  // libp2p addresses now (with /p2p/<PeerId>): the direct ones, or those through `relay`.
  std::vector<std::string> direct_addrs() const;
  std::vector<std::string> circuit_addrs_through(const agent::RelayNode& relay) const;
};

class DemoNetwork {
 public:
  explicit DemoNetwork(p2p::asio::any_io_executor executor);
  ~DemoNetwork();
  DemoNetwork(const DemoNetwork&) = delete;
  DemoNetwork& operator=(const DemoNetwork&) = delete;

  // Starts everything and reports each part; `nats_binary` none: no broker (libp2p only).
  p2p::awaitable<void> start(std::optional<std::filesystem::path> nats_binary, const DemoReport& report);
  // Until carol holds an active reservation on both relays (polled, at most `timeout`); throws
  // otherwise. Returns how long it took.
  p2p::awaitable<std::chrono::milliseconds> wait_for_reservations(std::chrono::milliseconds timeout);
  // Agents say goodbye (while the broker still runs) and stop; relays close. Safe to call twice.
  p2p::awaitable<void> stop();

  bool has_nats() const { return nats_ != nullptr; }
  agent::RelayNode& primary() { return *primary_; }
  agent::RelayNode& backup() { return *backup_; }
  DemoAgent alice, bob, carol;  // the destructor ends them first, the temporary directory last

 private:
  DemoAgent make_agent(std::string name, std::vector<std::string> capabilities, std::vector<std::string> listen,
                       std::vector<std::string> relays);
  std::unique_ptr<agent::RelayNode> start_relay();

  p2p::asio::any_io_executor executor_;
  std::filesystem::path dir_;
  std::unique_ptr<NatsChild> nats_;
  std::unique_ptr<agent::RelayNode> primary_, backup_;
};

// The full address of a relay (its first listen address with /p2p/<relay>).
std::string relay_address(const agent::RelayNode& relay);

}  // namespace stargate::cli
