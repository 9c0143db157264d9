// JetStream: the check that the broker has it, streams, publishing with the server's
// acknowledgement and stored messages. Consumers are push_consumer.cpp, buckets kv_bucket.cpp.
// Each call runs nats.c's blocking function on the client's JetStream worker (jetstream_call.hpp).
#include "nats/jetstream.hpp"

#include "nats/jetstream_call.hpp"
#include "nats/jetstream_limits.hpp"
#include "nats/message_fields.hpp"

#include <nats/nats.h>

#include <algorithm>
#include <climits>
#include <utility>

namespace stargate::nats {

namespace asio = boost::asio;
using detail::call_off_executor;
using detail::js_context;
using detail::run_off_executor;
using detail::throw_js_error;

namespace {

constexpr std::int64_t kNanosPerMilli = 1'000'000;

StreamInfo stream_info_of(const jsStreamInfo* si) {
  StreamInfo out;
  if (si->Config != nullptr && si->Config->Name != nullptr) out.name = si->Config->Name;
  out.messages = si->State.Msgs;
  out.bytes = si->State.Bytes;
  out.first_sequence = si->State.FirstSeq;
  out.last_sequence = si->State.LastSeq;
  out.consumers = si->State.Consumers;
  return out;
}

// What the job reads through nats.c: the strings live as long as `config`.
struct NatsStreamConfig {
  explicit NatsStreamConfig(const StreamConfig& config) {
    jsStreamConfig_Init(&c);
    for (const auto& subject : config.subjects) subjects.push_back(subject.c_str());
    c.Name = config.name.c_str();
    c.Subjects = subjects.data();
    c.SubjectsLen = static_cast<int>(subjects.size());
    c.Storage = config.storage == StorageType::memory ? js_MemoryStorage : js_FileStorage;
    c.MaxAge = config.max_age.count() * kNanosPerMilli;
    c.MaxMsgs = config.max_msgs;
    c.MaxBytes = config.max_bytes;
    c.MaxMsgsPerSubject = config.max_msgs_per_subject;
    c.MaxMsgSize = config.max_msg_size;
    c.Duplicates = config.duplicate_window.count() * kNanosPerMilli;
    c.Discard = config.discard == DiscardPolicy::new_messages ? js_DiscardNew : js_DiscardOld;
  }
  jsStreamConfig c;
  std::vector<const char*> subjects;
};

}  // namespace

JetStream::JetStream(Private, std::shared_ptr<Client> client, JetStreamOptions options)
    : client_(std::move(client)), options_(options) {}

asio::awaitable<std::shared_ptr<JetStream>> JetStream::open(std::shared_ptr<Client> client, JetStreamOptions options) {
  std::string where = client->connected_url();
  if (where.empty()) where = client->options().urls.empty() ? std::string("?") : client->options().urls.front();
  std::string what = "JetStream at " + where;
  auto context = js_context(*client, options.timeout, what);
  std::function<void()> job = [context, what, where, timeout = options.timeout] {
    jsAccountInfo* info = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus status = js_GetAccountInfo(&info, context->js, nullptr, &code);
    jsAccountInfo_Destroy(info);
    if (status == NATS_OK) return;
    if (status == NATS_NO_RESPONDERS || code == JSNotEnabledErr)
      throw JetStreamError("the broker at " + where + " has no JetStream: start nats-server with -js", code);
    if (code == JSNotEnabledForAccountErr)
      throw JetStreamError("the broker at " + where + " has JetStream, but not for this account", code);
    throw_js_error(what, status, code, timeout);
  };
  co_await run_off_executor(*client, std::move(job));
  co_return std::make_shared<JetStream>(Private{}, std::move(client), options);
}

asio::awaitable<StreamInfo> JetStream::ensure_stream(const StreamConfig& config_in) {
  auto self = shared_from_this();
  auto config = std::make_shared<const StreamConfig>(config_in);
  std::string what = "JetStream stream " + config->name;
  detail::check_name(config->name, "stream", what);
  if (config->subjects.empty()) throw JetStreamError(what + ": no subjects", 0);
  for (const auto& subject : config->subjects) detail::check_subject(subject, what);
  std::function<StreamInfo()> job = [context = js_context(*client_, options_.timeout, what), config, what,
                                     timeout = options_.timeout] {
    NatsStreamConfig nats_config(*config);
    jsStreamInfo* si = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus status = js_AddStream(&si, context->js, &nats_config.c, nullptr, &code);
    if (status != NATS_OK && code == JSStreamNameExistErr) {  // exists with another configuration
      status = js_UpdateStream(&si, context->js, &nats_config.c, nullptr, &code);
    }
    if (status != NATS_OK) throw_js_error(what, status, code, timeout);
    StreamInfo info = stream_info_of(si);
    jsStreamInfo_Destroy(si);
    return info;
  };
  co_return co_await call_off_executor(*client_, std::move(job));
}

asio::awaitable<std::optional<StreamInfo>> JetStream::stream_info(std::string_view name_in) {
  auto self = shared_from_this();
  std::string name(name_in);
  std::string what = "JetStream stream " + name;
  std::function<std::optional<StreamInfo>()> job = [context = js_context(*client_, options_.timeout, what), name,
                                                    what, timeout = options_.timeout] {
    jsStreamInfo* si = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus status = js_GetStreamInfo(&si, context->js, name.c_str(), nullptr, &code);
    if (status == NATS_NOT_FOUND) return std::optional<StreamInfo>();
    if (status != NATS_OK) throw_js_error(what, status, code, timeout);
    std::optional<StreamInfo> info = stream_info_of(si);
    jsStreamInfo_Destroy(si);
    return info;
  };
  co_return co_await call_off_executor(*client_, std::move(job));
}

asio::awaitable<bool> JetStream::delete_stream(std::string_view name_in) {
  auto self = shared_from_this();
  std::string name(name_in);
  std::string what = "JetStream stream " + name + " (delete)";
  std::function<bool()> job = [context = js_context(*client_, options_.timeout, what), name, what,
                               timeout = options_.timeout] {
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus status = js_DeleteStream(context->js, name.c_str(), nullptr, &code);
    if (status == NATS_NOT_FOUND) return false;
    if (status != NATS_OK) throw_js_error(what, status, code, timeout);
    return true;
  };
  co_return co_await call_off_executor(*client_, std::move(job));
}

asio::awaitable<PubAck> JetStream::publish(std::string_view subject, BytesView data) {
  PublishOptions defaults;
  co_return co_await publish(subject, data, defaults);
}

asio::awaitable<PubAck> JetStream::publish(std::string_view subject_in, BytesView data_in,
                                           const PublishOptions& options_in) {
  auto self = shared_from_this();
  std::string subject(subject_in);
  std::string what = "JetStream publish on " + subject;
  detail::check_subject(subject, what);
  detail::check_headers(options_in.headers, what);
  if (options_in.msg_id.find_first_of("\r\n") != std::string::npos)
    throw JetStreamError(what + ": the message id holds CR or LF", 0);
  Headers all_headers = options_in.headers;
  if (!options_in.expect_stream.empty()) all_headers.emplace_back("Nats-Expected-Stream", options_in.expect_stream);
  detail::check_message_size(what, data_in.size(), detail::header_block_size(all_headers, options_in.msg_id),
                             client_->max_payload());
  auto options = std::make_shared<const PublishOptions>(options_in);
  auto data = std::make_shared<const Bytes>(data_in.begin(), data_in.end());
  auto timeout = options->timeout.count() > 0 ? options->timeout : options_.timeout;
  std::function<PubAck()> job = [context = js_context(*client_, options_.timeout, what), subject, data, options, what,
                                 timeout] {
    natsMsg* msg = nullptr;
    const char* bytes = data->empty() ? nullptr : reinterpret_cast<const char*>(data->data());
    if (natsStatus status = natsMsg_Create(&msg, subject.c_str(), nullptr, bytes, static_cast<int>(data->size()));
        status != NATS_OK)
      throw_js_error(what, status, static_cast<jsErrCode>(0), timeout);
    std::unique_ptr<natsMsg, decltype(&natsMsg_Destroy)> owner(msg, &natsMsg_Destroy);
    detail::add_headers(msg, options->headers, what);
    jsPubOptions pub;
    jsPubOptions_Init(&pub);
    pub.MaxWait = std::max<std::int64_t>(1, timeout.count());
    if (!options->msg_id.empty()) pub.MsgId = options->msg_id.c_str();
    if (!options->expect_stream.empty()) pub.ExpectStream = options->expect_stream.c_str();
    jsPubAck* result = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus status = js_PublishMsg(&result, context->js, msg, &pub, &code);
    if (status != NATS_OK) throw_js_error(what, status, code, timeout);
    PubAck ack;
    if (result->Stream != nullptr) ack.stream = result->Stream;
    ack.sequence = result->Sequence;
    ack.duplicate = result->Duplicate;
    jsPubAck_Destroy(result);
    return ack;
  };
  co_return co_await call_off_executor(*client_, std::move(job));
}

namespace {

// js_GetMsg / js_GetLastMsg as one shape: nullopt for "no such message", a throw for the rest.
using GetStoredFn = std::function<natsStatus(jsCtx*, natsMsg**, jsErrCode*)>;

std::function<std::optional<StoredMessage>()> get_stored_job(std::shared_ptr<detail::JsContext> context,
                                                             GetStoredFn get, std::string what,
                                                             std::chrono::milliseconds timeout) {
  return [context = std::move(context), get = std::move(get), what = std::move(what), timeout] {
    natsMsg* msg = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus status = get(context->js, &msg, &code);
    if (status == NATS_NOT_FOUND) return std::optional<StoredMessage>();
    if (status != NATS_OK) throw_js_error(what, status, code, timeout);
    std::optional<StoredMessage> out = detail::stored_message(msg);
    natsMsg_Destroy(msg);
    return out;
  };
}

}  // namespace

asio::awaitable<std::optional<StoredMessage>> JetStream::last_message(std::string_view stream_in,
                                                                      std::string_view subject_in) {
  auto self = shared_from_this();
  std::string stream(stream_in), subject(subject_in);
  std::string what = "JetStream stream " + stream + ": last message on " + subject;
  detail::check_subject(subject, what);
  GetStoredFn get = [stream, subject](jsCtx* js, natsMsg** msg, jsErrCode* code) {
    return js_GetLastMsg(msg, js, stream.c_str(), subject.c_str(), nullptr, code);
  };
  auto job = get_stored_job(js_context(*client_, options_.timeout, what), std::move(get), what, options_.timeout);
  co_return co_await call_off_executor(*client_, std::move(job));
}

asio::awaitable<std::optional<StoredMessage>> JetStream::message(std::string_view stream_in, std::uint64_t sequence) {
  auto self = shared_from_this();
  std::string stream(stream_in);
  std::string what = "JetStream stream " + stream + ": message " + std::to_string(sequence);
  GetStoredFn get = [stream, sequence](jsCtx* js, natsMsg** msg, jsErrCode* code) {
    return js_GetMsg(msg, js, stream.c_str(), sequence, nullptr, code);
  };
  auto job = get_stored_job(js_context(*client_, options_.timeout, what), std::move(get), what, options_.timeout);
  co_return co_await call_off_executor(*client_, std::move(job));
}

asio::awaitable<bool> JetStream::delete_message(std::string_view stream_in, std::uint64_t sequence) {
  auto self = shared_from_this();
  std::string stream(stream_in);
  std::string what = "JetStream stream " + stream + ": delete message " + std::to_string(sequence);
  std::function<bool()> job = [context = js_context(*client_, options_.timeout, what), stream, sequence, what,
                               timeout = options_.timeout] {
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus status = js_DeleteMsg(context->js, stream.c_str(), sequence, nullptr, &code);
    if (status == NATS_OK) return true;
    // 2.9 answers a sequence it does not hold with "no message found" (JSStreamMsgDeleteFailed).
    if (code == JSStreamMsgDeleteFailed || code == JSNoMessageFoundErr || code == JSSequenceNotFoundErr) return false;
    throw_js_error(what, status, code, timeout);
  };
  co_return co_await call_off_executor(*client_, std::move(job));
}

}  // namespace stargate::nats
