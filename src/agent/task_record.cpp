#include "agent/task_record.hpp"

#include "crypto/peer_id.hpp"

namespace stargate::agent {

namespace json = boost::json;

namespace {

constexpr int kTaskRecordVersion = 1;
constexpr std::size_t kMaxTaskRecordBytes = 16 * 1024;

Bytes task_signed_bytes(std::string_view doc) {
  Bytes out(kTaskStateSignaturePrefix.begin(), kTaskStateSignaturePrefix.end());
  out.insert(out.end(), doc.begin(), doc.end());
  return out;
}

bool is_task_id(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

std::string_view to_string(TaskState state) {
  switch (state) {
    case TaskState::submitted: return "submitted";
    case TaskState::working: return "working";
    case TaskState::completed: return "completed";
    case TaskState::failed: return "failed";
    case TaskState::canceled: return "canceled";
  }
  return "submitted";
}

std::optional<TaskState> parse_task_state(std::string_view text) {
  for (auto s : {TaskState::submitted, TaskState::working, TaskState::completed, TaskState::failed, TaskState::canceled})
    if (to_string(s) == text) return s;
  return std::nullopt;
}

bool is_terminal(TaskState state) {
  return state == TaskState::completed || state == TaskState::failed || state == TaskState::canceled;
}

TaskParty writer_of(TaskState state) {
  return state == TaskState::submitted || state == TaskState::canceled ? TaskParty::caller : TaskParty::callee;
}

bool may_follow(std::optional<TaskState> from, TaskState to) {
  if (!from) return to == TaskState::submitted;
  switch (*from) {
    // An expired task fails without running: the callee writes failed straight from submitted.
    case TaskState::submitted: return to == TaskState::working || to == TaskState::canceled || to == TaskState::failed;
    case TaskState::working: return to == TaskState::completed || to == TaskState::failed;
    default: return false;  // terminal
  }
}

std::string sign_task_record(const TaskRecord& record, const crypto::Ed25519PrivateKey& writer) {
  json::object doc{{"v", kTaskRecordVersion},
                   {"task", record.task_id},
                   {"state", to_string(record.state)},
                   {"caller", record.caller},
                   {"callee", record.callee},
                   {"at", record.at_ms}};
  if (record.error) doc["error"] = record.error->to_json();
  const std::string doc_text = json::serialize(doc);
  const auto signature = writer.sign(task_signed_bytes(doc_text));
  return json::serialize(json::object{{"doc", doc_text}, {"sig", to_hex(signature)}});
}

Result<TaskRecord> verify_task_record(std::string_view wire, const crypto::Ed25519PublicKey& caller_key,
                                      const crypto::Ed25519PublicKey& callee_key) {
  if (wire.size() > kMaxTaskRecordBytes) return make_error("task record larger than " + std::to_string(kMaxTaskRecordBytes) + " bytes");
  auto outer = parse_json_bounded(wire);
  if (!outer || !outer->is_object()) return make_error("task record is not a JSON object");
  const auto* doc = outer->as_object().if_contains("doc");
  const auto* sig = outer->as_object().if_contains("sig");
  if (!doc || !doc->is_string() || !sig || !sig->is_string()) return make_error("task record needs \"doc\" and \"sig\" strings");
  const std::string_view doc_text(doc->get_string());
  Bytes signature;
  if (!from_hex(std::string_view(sig->get_string()), signature) || signature.size() != 64)
    return make_error("task record signature is not 64 bytes of hex");
  auto parsed = parse_json_bounded(doc_text);
  if (!parsed || !parsed->is_object()) return make_error("task record document is not a JSON object");
  const auto& d = parsed->as_object();
  auto text = [&d](const char* key) -> std::optional<std::string> {
    const auto* v = d.if_contains(key);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
  };
  const auto* version = d.if_contains("v");
  if (!version || !version->is_int64() || version->get_int64() != kTaskRecordVersion)
    return make_error("task record version is not " + std::to_string(kTaskRecordVersion));
  TaskRecord record;
  auto task = text("task");
  auto state = text("state");
  auto caller = text("caller");
  auto callee = text("callee");
  const auto* at = d.if_contains("at");
  if (!task || !is_task_id(*task)) return make_error("task record \"task\" must be 32 hex characters");
  if (!state || !parse_task_state(*state)) return make_error("task record \"state\" is not an A2A task state");
  if (!caller || !callee || !at || !at->is_int64()) return make_error("task record needs \"caller\", \"callee\" and \"at\"");
  record.task_id = *task;
  record.state = *parse_task_state(*state);
  record.caller = *caller;
  record.callee = *callee;
  record.at_ms = at->get_int64();
  if (const auto* error = d.if_contains("error")) {
    const auto* code = error->is_object() ? error->as_object().if_contains("code") : nullptr;
    const auto* message = error->is_object() ? error->as_object().if_contains("message") : nullptr;
    if (!code || !code->is_int64() || !message || !message->is_string())
      return make_error("task record \"error\" needs an integer code and a message");
    record.error = RpcError(static_cast<int>(code->get_int64()), std::string(message->get_string()));
    if (const auto* data = error->as_object().if_contains("data")) record.error->data = *data;
  }
  if (crypto::agent_id(caller_key) != record.caller || crypto::agent_id(callee_key) != record.callee)
    return make_error("task record names another caller or callee than the keys given");
  const auto& writer = writer_of(record.state) == TaskParty::caller ? caller_key : callee_key;
  if (!writer.verify(task_signed_bytes(doc_text), signature))
    return make_error(std::string("task record \"") + std::string(to_string(record.state)) + "\" is not signed by the task's " +
                      (writer_of(record.state) == TaskParty::caller ? "caller" : "callee"));
  return record;
}

}  // namespace stargate::agent
