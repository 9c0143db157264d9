#include "nats/sealed/errors.hpp"

#include "base/result.hpp"

namespace stargate::nats::sealed {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::malformed: return "malformed";
    case Errc::authentication_failed: return "authentication_failed";
    case Errc::bad_signature: return "bad_signature";
    case Errc::replay: return "replay";
    case Errc::stale_timestamp: return "stale_timestamp";
    case Errc::unknown_session: return "unknown_session";
    case Errc::session_expired: return "session_expired";
    case Errc::too_large: return "too_large";
  }
  return "unknown";
}

void throw_exception_from_error(const SealError& e, const boost::source_location&) {
  throw ErrorException(std::string(to_string(e.code)) + ": " + e.message);
}

}  // namespace stargate::nats::sealed
