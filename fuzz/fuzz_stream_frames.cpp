// libFuzzer target: the frames of streamed calls (src/agent/stream_frames.*) fed hostile bytes, and
// the caller's inbox fed whatever parses. A callee frame must either parse into exactly one of a
// partial or a final response with a sequence number above 0, written out again parsing back to
// the same frame, or be refused; the sequence number read without parsing must agree with the
// parser's. A caller frame must round-trip the same way. The inbox must never hold more partial
// bytes than its window allows, nor hand out a frame twice or out of order.
#include <cstddef>
#include <cstdint>

#include "agent/stream_frames.hpp"
#include "agent/stream_inbox.hpp"
#include "check.hpp"

using namespace stargate;
using namespace stargate::agent;
namespace json = boost::json;

namespace {

void check_callee_frame(std::string_view text) {
  auto frame = parse_callee_frame(text);
  const auto peeked = peek_partial_seq(text);
  if (!frame) {
    check(frame.error().code != 0);
    return;
  }
  check(frame->seq > 0);
  check(frame->partial.has_value() != frame->final.has_value());
  if (frame->partial) {
    if (peeked) check(*peeked == frame->seq);
    std::string again;
    append_partial_frame(again, frame->seq, *frame->partial);
    auto reparsed = parse_callee_frame(again);
    check(reparsed && reparsed->partial && reparsed->seq == frame->seq && *reparsed->partial == *frame->partial);
    check(peek_partial_seq(again) == frame->seq);
  } else {
    check(!peeked || text.find("\"partial\"") != std::string_view::npos);
  }
}

void check_caller_frame(std::string_view text) {
  auto frame = parse_caller_frame(text);
  if (!frame) return;
  std::string again;
  if (const auto* r = std::get_if<StreamResume>(&*frame)) {
    check(!r->call_id.empty() && r->window > 0);
    again = make_resume_frame(*r);
  } else if (const auto* a = std::get_if<StreamAck>(&*frame)) {
    again = make_ack_frame(a->call_id, a->consumed);
  } else {
    again = make_cancel_frame(std::get<StreamCancel>(*frame).call_id);
  }
  auto reparsed = parse_caller_frame(again);
  check(reparsed && reparsed->index() == frame->index());
}

// The input split at newlines into callee frames, in order, into one inbox.
void check_inbox(std::string_view input) {
  StreamInbox inbox(kMinStreamWindow);
  std::uint64_t taken = 0;
  while (!input.empty()) {
    const auto nl = input.find('\n');
    const auto line = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    auto frame = parse_callee_frame(line);
    if (!frame) continue;
    const auto before = inbox.received();
    const auto added = inbox.add(std::move(*frame), line.size());
    check((added == StreamInbox::Added::queued) == (inbox.received() == before + 1));
    check(inbox.buffered_bytes() <= kMinStreamWindow + kMaxMessageBytes + line.size());
    if (line.size() % 2 == 0) {
      if (auto item = inbox.take()) ++taken;
      (void)inbox.ack_due();
    }
  }
  while (inbox.take()) ++taken;
  check(taken == inbox.received());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_callee_frame(text);
  check_caller_frame(text);
  (void)parse_stream_opening(text);
  check_inbox(text);
  return 0;
}
