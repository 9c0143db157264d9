#pragma once
// Errors of the task envelopes (task_envelope.hpp) and their replay guard (task_replay_guard.hpp).
// A code of their own rather than more sealed::Errc values: a queued task fails in ways a session
// message does not (expired, not yet valid, lifetime, a full guard), and the agent layer switches
// over Errc exhaustively.
#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace stargate::nats::sealed {

enum class TaskErrc : std::uint8_t {
  malformed = 1,          // not a task envelope of a known type and version; wrong sizes, bad fields
  wrong_recipient,        // sealed to another X25519 static key (the header names it): not for us
  authentication_failed,  // Noise/AEAD decryption failed: tampered, or the recipient field rewritten
  bad_signature,          // the sender's Ed25519 signature over its static key does not verify
  expired,                // now is at or past the expiry
  not_yet_valid,          // created further in the future than the clock-skew tolerance
  lifetime_too_long,      // expiry - created over the configured maximum (7 days by default)
  too_large,              // body or envelope over its bound (max_task_body, max_task_envelope)
  replay,                 // guard: this (sender, kind, task id) was already admitted and has not expired
  guard_full,             // guard: as many unexpired tasks remembered as it may hold; refused, not forgotten
};

std::string_view to_string(TaskErrc code);

struct TaskError {
  TaskErrc code;
  std::string message;
};

template <class T>
using TaskResult = boost::system::result<T, TaskError>;

// Called by TaskResult<T>::value() when it holds an error (found by ADL); throws
// stargate::ErrorException with "<code>: <message>".
[[noreturn]] void throw_exception_from_error(const TaskError& e, const boost::source_location&);

}  // namespace stargate::nats::sealed
