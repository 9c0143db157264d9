#pragma once
// Errors of the sealed session layer. Unlike the rest of the code base (Result<T> = a message only),
// each failure carries a code, because the agent layer maps them to distinct JSON-RPC errors and
// the caller reacts to some of them (unknown_session: handshake again).
#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace stargate::nats::sealed {

enum class Errc : std::uint8_t {
  malformed = 1,          // not a sealed message of a known type and version, wrong sizes, bad fields
  authentication_failed,  // AEAD / Noise decryption failed: tampered, wrong key, not for us
  bad_signature,          // the caller's Ed25519 signature over its static key does not verify
  replay,                 // counter already seen or behind the window; handshake timestamp not newer
  stale_timestamp,        // handshake timestamp further than the clock-skew tolerance from now
  unknown_session,        // no such session (lost, evicted, expired): the caller must handshake again
  session_expired,        // local: the session is past its lifetime or message limit; seal anew
  too_large,              // plaintext over the configured limit (10 MiB by default)
};

std::string_view to_string(Errc code);

struct SealError {
  Errc code;
  std::string message;
};

inline SealError seal_error(Errc code, std::string message) { return SealError{code, std::move(message)}; }

template <class T>
using SealResult = boost::system::result<T, SealError>;

// Called by SealResult<T>::value() when it holds an error (found by ADL); throws
// stargate::ErrorException with "<code>: <message>".
[[noreturn]] void throw_exception_from_error(const SealError& e, const boost::source_location&);

}  // namespace stargate::nats::sealed
