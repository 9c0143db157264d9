#pragma once
// The libp2p Noise handshake and secure channel over a ByteStream: the thin coroutine layer
// around p2p/noise's sans-IO handshake and transport.
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"
#include "p2p/host/byte_stream.hpp"
#include "p2p/noise/libp2p_handshake.hpp"

#include <memory>
#include <optional>

namespace stargate::p2p {

inline constexpr const char* noise_protocol_id = "/noise";

struct SecureChannel {
  std::unique_ptr<ByteStream> stream;
  crypto::PeerId remote_peer;
};

// Runs the XX handshake as initiator; with `expected`, a different remote PeerId is an error.
awaitable<SecureChannel> secure_outbound(std::unique_ptr<ByteStream> raw, const noise::StaticNoiseKey& local,
                                         std::optional<crypto::PeerId> expected);
awaitable<SecureChannel> secure_inbound(std::unique_ptr<ByteStream> raw, const noise::StaticNoiseKey& local);

}  // namespace stargate::p2p
