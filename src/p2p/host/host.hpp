#pragma once
// A libp2p host: listeners and a dialer feeding one upgrade pipeline
// (TCP -> multistream-select -> Noise -> multistream-select -> Yamux), a protocol router for
// inbound streams, a peer store and resource limits. Identify, ping, perf and echo are enabled
// by the functions in p2p/protocols/ (see enable_standard_protocols()).
#include "base/multiaddr.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"
#include "p2p/host/asio.hpp"
#include "p2p/host/muxed_connection.hpp"
#include "p2p/host/peer_store.hpp"
#include "p2p/host/resource_manager.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace stargate::p2p {

inline constexpr const char* yamux_protocol_id = "/yamux/1.0.0";

struct HostConfig {
  std::string agent_version = "stargate/0.1.0";
  std::string protocol_version = "ipfs/0.1.0";
  MuxedConnectionConfig mux;
  ResourceLimits limits;
  std::chrono::milliseconds dial_timeout{10'000};
  // Noise handshake plus muxer negotiation.
  std::chrono::milliseconds upgrade_timeout{10'000};
  // multistream-select on a new stream.
  std::chrono::milliseconds negotiation_timeout{10'000};
};

using StreamHandler = std::function<awaitable<void>(std::shared_ptr<MuxedStream>)>;
using ConnectionHook = std::function<void(const std::shared_ptr<MuxedConnection>&)>;

class Host {
 public:
  Host(asio::any_io_executor executor, crypto::Ed25519PrivateKey identity, HostConfig config = {});
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const crypto::PeerId& peer_id() const;
  const crypto::Ed25519PrivateKey& identity() const;
  const HostConfig& config() const;
  asio::any_io_executor executor() const;

  // Binds and starts accepting; returns the bound address (port 0 resolved). Throws on failure.
  Multiaddr listen(const Multiaddr& addr);
  std::vector<Multiaddr> listen_addrs() const;

  void set_handler(const std::string& protocol, StreamHandler handler);
  std::vector<std::string> protocols() const;
  // Runs for every new connection, inbound or outbound, once it is upgraded.
  void on_connection(ConnectionHook hook);

  // Dials and upgrades; a /p2p/ suffix makes the peer ID checked. Reuses an open connection to
  // that peer when there is one.
  awaitable<std::shared_ptr<MuxedConnection>> connect(const Multiaddr& addr);
  // Reuses a connection or dials the addresses in the peer store.
  awaitable<std::shared_ptr<MuxedConnection>> connect(const crypto::PeerId& peer);
  // With a single protocol, selection is optimistic: the stream is returned at once and its first
  // read fails if the peer refuses the protocol. With several, waits for the peer's choice.
  awaitable<std::shared_ptr<MuxedStream>> open_stream(const std::shared_ptr<MuxedConnection>& connection,
                                                      std::vector<std::string> protocols);

  std::shared_ptr<MuxedConnection> find_connection(const crypto::PeerId& peer) const;
  std::vector<std::shared_ptr<MuxedConnection>> connections() const;
  PeerStore& peer_store();
  ResourceManager& resources();

  // Stops listening and closes every connection.
  void close();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace stargate::p2p
