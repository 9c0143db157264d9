#pragma once
// The state of a queued task (issue 15, "Queued tasks"), as one signed record per state change,
// sans-IO. The records live in a JetStream key-value bucket the broker's operator controls, so each
// is signed by the party allowed to write that state, and a reader checks both: the operator can
// drop or roll back records, never forge one.
//
//   {"doc":"{\"v\":1,\"task\":\"<32 hex>\",\"state\":\"working\",\"caller\":\"<agent id>\",
//            \"callee\":\"<agent id>\",\"at\":<unix ms>[,\"error\":{\"code\":…,\"message\":…}]}",
//    "sig":"<128 hex chars>"}
//
// `sig` is Ed25519 over "stargate-task-state-v1:" + doc (the doc string as it decodes, as
// announcements do). States are A2A's: the caller writes `submitted` (queueing) and `canceled`
// (only while the task is still submitted); the callee writes `working` (before it runs the
// handler: at most once), `completed` and `failed` (an error, an expiry, or a run interrupted by a
// crash). Which transitions may follow which is may_follow().
#include "agent/jsonrpc.hpp"
#include "crypto/ed25519.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stargate::agent {

inline constexpr std::string_view kTaskStateSignaturePrefix = "stargate-task-state-v1:";

enum class TaskState { submitted, working, completed, failed, canceled };
std::string_view to_string(TaskState state);
std::optional<TaskState> parse_task_state(std::string_view text);
bool is_terminal(TaskState state);

// Who may write a state: the task's caller (submitted, canceled) or its callee (the others).
enum class TaskParty { caller, callee };
TaskParty writer_of(TaskState state);
// Whether `to` may replace `from` (nullopt: no record yet).
bool may_follow(std::optional<TaskState> from, TaskState to);

struct TaskRecord {
  std::string task_id;  // 32 lowercase hex characters
  TaskState state = TaskState::submitted;
  std::string caller, callee;  // agent IDs
  std::int64_t at_ms = 0;      // when the writer wrote it (its clock)
  std::optional<RpcError> error;  // failed (and canceled, optionally): why
};

// The signed wire form; `writer` must be the party writer_of(record.state) names (not checked here:
// the key is the writer's own).
std::string sign_task_record(const TaskRecord& record, const crypto::Ed25519PrivateKey& writer);

// Parses and verifies a record: the signature must be by `caller_key` for the caller's states and by
// `callee_key` for the callee's, whose agent IDs must be the record's caller and callee. A forged,
// mis-attributed or malformed record is an error saying which.
Result<TaskRecord> verify_task_record(std::string_view wire, const crypto::Ed25519PublicKey& caller_key,
                                      const crypto::Ed25519PublicKey& callee_key);

}  // namespace stargate::agent
