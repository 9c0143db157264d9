#include "nats/sealed/task_errors.hpp"

#include "base/result.hpp"

namespace stargate::nats::sealed {

std::string_view to_string(TaskErrc code) {
  switch (code) {
    case TaskErrc::malformed: return "malformed";
    case TaskErrc::wrong_recipient: return "wrong_recipient";
    case TaskErrc::authentication_failed: return "authentication_failed";
    case TaskErrc::bad_signature: return "bad_signature";
    case TaskErrc::expired: return "expired";
    case TaskErrc::not_yet_valid: return "not_yet_valid";
    case TaskErrc::lifetime_too_long: return "lifetime_too_long";
    case TaskErrc::too_large: return "too_large";
    case TaskErrc::replay: return "replay";
    case TaskErrc::guard_full: return "guard_full";
  }
  return "unknown";
}

void throw_exception_from_error(const TaskError& e, const boost::source_location&) {
  throw ErrorException(std::string(to_string(e.code)) + ": " + e.message);
}

}  // namespace stargate::nats::sealed
