// Streamed calls' sans-IO parts: the frames' codec, the callee's outbox (numbering, credit, the
// resume buffer) and the caller's inbox (order, duplicates, gaps, acknowledgements).
#include "agent/stream_frames.hpp"
#include "agent/stream_inbox.hpp"
#include "agent/stream_outbox.hpp"

#include <gtest/gtest.h>

namespace stargate::agent {
namespace {

namespace json = boost::json;

std::string partial_text(std::uint64_t seq, const json::value& v) {
  std::string out;
  append_partial_frame(out, seq, v);
  return out;
}

TEST(StreamFramesTest, PartialAndFinalFramesRoundTrip) {
  auto partial = parse_callee_frame(partial_text(3, json::object{{"token", "hi"}}));
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->seq, 3u);
  ASSERT_TRUE(partial->partial);
  EXPECT_EQ(partial->partial->at("token").as_string(), "hi");

  auto final = parse_callee_frame(make_final_frame(4, make_response(RequestId("c1"), json::value(42))));
  ASSERT_TRUE(final);
  EXPECT_EQ(final->seq, 4u);
  ASSERT_TRUE(final->final);
  EXPECT_EQ(final->final->outcome.value().as_int64(), 42);

  auto error = parse_callee_frame(make_final_frame(1, make_error_response(RequestId("c1"), RpcError(ErrorCode::stream_lost, "gone"))));
  ASSERT_TRUE(error);
  ASSERT_TRUE(error->final);
  EXPECT_TRUE(error->final->outcome.error().is(ErrorCode::stream_lost));
}

TEST(StreamFramesTest, APartialsSequenceNumberIsReadWithoutParsingIt) {
  EXPECT_EQ(peek_partial_seq(partial_text(1234, json::object{{"a", 1}})), 1234u);
  EXPECT_FALSE(peek_partial_seq(make_final_frame(3, make_response(RequestId("c"), json::value(1)))));
  EXPECT_FALSE(peek_partial_seq(R"({"seq":0,"partial":1})"));
  EXPECT_FALSE(peek_partial_seq(R"({"seq":,"partial":1})"));
  EXPECT_FALSE(peek_partial_seq(R"({"seq":99999999999999999999999,"partial":1})"));
}

TEST(StreamFramesTest, MalformedCalleeFramesAreRefused) {
  EXPECT_FALSE(parse_callee_frame("[1]"));
  EXPECT_FALSE(parse_callee_frame(R"({"partial":1})"));           // no seq
  EXPECT_FALSE(parse_callee_frame(R"({"seq":0,"partial":1})"));   // seq starts at 1
  EXPECT_FALSE(parse_callee_frame(R"({"seq":-2,"partial":1})"));
  EXPECT_FALSE(parse_callee_frame(R"({"seq":1})"));               // neither partial nor response
  EXPECT_FALSE(parse_callee_frame(R"({"seq":1,"jsonrpc":"2.0","id":"x"})"));
  // A partial frame over the limit.
  const std::string big(kMaxPartialBytes, 'a');
  auto too_large = parse_callee_frame(partial_text(1, json::string(big)));
  ASSERT_FALSE(too_large);
  EXPECT_TRUE(too_large.error().is(ErrorCode::payload_too_large));
}

TEST(StreamFramesTest, CallerFramesRoundTripAndRefuseGarbage) {
  auto resume = parse_caller_frame(make_resume_frame(StreamResume{"c9", "agent", 17, kDefaultStreamWindow}));
  ASSERT_TRUE(resume);
  const auto& r = std::get<StreamResume>(*resume);
  EXPECT_EQ(r.call_id, "c9");
  EXPECT_EQ(r.from, "agent");
  EXPECT_EQ(r.after, 17u);
  auto ack = parse_caller_frame(make_ack_frame("c9", 5));
  ASSERT_TRUE(ack);
  EXPECT_EQ(std::get<StreamAck>(*ack).consumed, 5u);
  auto cancel = parse_caller_frame(make_cancel_frame("c9"));
  ASSERT_TRUE(cancel);
  EXPECT_TRUE(std::holds_alternative<StreamCancel>(*cancel));

  EXPECT_FALSE(parse_caller_frame(R"({"id":"c9"})"));
  EXPECT_FALSE(parse_caller_frame(R"({"id":"c9","ack":-1})"));
  EXPECT_FALSE(parse_caller_frame(R"({"ack":1})"));
  EXPECT_FALSE(parse_caller_frame(R"({"resume":"c9","after":1})"));  // no from, no window
  EXPECT_FALSE(parse_caller_frame(std::string(2000, ' ')));          // larger than any caller frame
}

TEST(StreamFramesTest, TheOpeningIsARequestOrAResume) {
  auto request = parse_stream_opening(make_request("m", json::object{}, RequestId("c1"), "a", 1000, 4096 * 1024));
  ASSERT_EQ(request.index(), 0u);
  const auto& parsed = std::get<0>(request);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->stream_window, 4096u * 1024);
  auto unary = parse_stream_opening(make_request("m", json::object{}, RequestId("c1"), "a"));
  EXPECT_FALSE(std::get<0>(unary)->stream_window);
  auto resume = parse_stream_opening(make_resume_frame(StreamResume{"c1", "a", 2, kDefaultStreamWindow}));
  EXPECT_TRUE(std::holds_alternative<StreamResume>(resume));
  EXPECT_FALSE(std::get<0>(parse_stream_opening(R"({"jsonrpc":"2.0","method":"m","id":1,"stream":{"window":0}})")));
}

TEST(StreamOutboxTest, CreditBoundsWhatIsOutstanding) {
  StreamOutbox out(100);
  EXPECT_TRUE(out.has_room(500));  // an empty window takes any one partial
  out.push(std::string(60, 'a'), false);
  EXPECT_TRUE(out.has_room(40));
  EXPECT_FALSE(out.has_room(41));
  out.push(std::string(40, 'b'), false);
  EXPECT_EQ(out.outstanding_bytes(), 100u);
  EXPECT_EQ(out.unsent_count(), 2u);
  EXPECT_FALSE(out.acknowledge(1));  // not sent yet: cannot have been consumed
  out.mark_sent(2);
  EXPECT_TRUE(out.acknowledge(1));
  EXPECT_EQ(out.outstanding_bytes(), 40u);
  EXPECT_TRUE(out.has_room(60));
  // The final frame is not held back by the window.
  out.push(std::string(1000, 'f'), true);
  EXPECT_TRUE(out.finished());
  EXPECT_EQ(out.buffered_bytes(), 1040u);
  out.push("after the end", false);  // ignored
  EXPECT_EQ(out.next_seq(), 4u);
}

TEST(StreamOutboxTest, RewindSendsAgainWhatTheCallerDidNotReceive) {
  StreamOutbox out(1000);
  for (int i = 0; i < 5; ++i) out.push("frame" + std::to_string(i + 1), false);
  out.mark_sent(5);
  EXPECT_TRUE(out.acknowledge(2));
  EXPECT_FALSE(out.rewind(1));  // fewer than it acknowledged
  EXPECT_FALSE(out.rewind(9));  // never sent
  ASSERT_TRUE(out.rewind(3));
  ASSERT_EQ(out.unsent_count(), 2u);
  EXPECT_EQ(out.unsent(0), "frame4");
  EXPECT_EQ(out.unsent(1), "frame5");
  out.push("final", true);
  out.mark_sent(3);
  EXPECT_TRUE(out.all_sent());
  EXPECT_FALSE(out.drained());
  EXPECT_TRUE(out.acknowledge(6));
  EXPECT_TRUE(out.drained());
  EXPECT_EQ(out.buffered_bytes(), 0u);
}

CalleeFrame partial_frame(std::uint64_t seq) {
  CalleeFrame f;
  f.seq = seq;
  f.partial = json::value(static_cast<std::int64_t>(seq));
  return f;
}

TEST(StreamInboxTest, InOrderExactlyOnce) {
  StreamInbox in(kMinStreamWindow);
  EXPECT_EQ(in.add(partial_frame(1), 10), StreamInbox::Added::queued);
  EXPECT_EQ(in.add(partial_frame(1), 10), StreamInbox::Added::duplicate);
  EXPECT_EQ(in.add(partial_frame(3), 10), StreamInbox::Added::gap);
  EXPECT_EQ(in.add(partial_frame(2), 10), StreamInbox::Added::queued);
  EXPECT_EQ(in.received(), 2u);
  EXPECT_EQ(in.take()->partial->as_int64(), 1);
  EXPECT_EQ(in.take()->partial->as_int64(), 2);
  EXPECT_FALSE(in.take());
  CalleeFrame final;
  final.seq = 3;
  final.final = Response{RequestId("c"), json::value("done")};
  EXPECT_EQ(in.add(std::move(final), 20), StreamInbox::Added::queued);
  EXPECT_TRUE(in.complete());
  EXPECT_EQ(in.add(partial_frame(4), 10), StreamInbox::Added::after_final);
  EXPECT_TRUE(in.take()->final);
  EXPECT_TRUE(in.done());
  EXPECT_EQ(in.ack_due(), 3u);  // the final frame: the callee may drop what it kept
  EXPECT_FALSE(in.ack_due());
}

TEST(StreamInboxTest, AcknowledgesEachQuarterWindowConsumedAndRefusesACalleeOverTheWindow) {
  const std::uint64_t window = kMinStreamWindow;
  const std::size_t frame = window / 8;
  StreamInbox in(window);
  for (std::uint64_t seq = 1; seq <= 8; ++seq) ASSERT_EQ(in.add(partial_frame(seq), frame), StreamInbox::Added::queued);
  EXPECT_EQ(in.add(partial_frame(9), frame), StreamInbox::Added::over_window);
  in.take();
  EXPECT_FALSE(in.ack_due());  // an eighth consumed
  in.take();
  EXPECT_EQ(in.ack_due(), 2u);  // a quarter
  EXPECT_EQ(in.add(partial_frame(9), frame), StreamInbox::Added::queued);
  EXPECT_EQ(in.buffered_bytes(), 7u * frame);
}

// The two sides together: whatever the consumer's pace, the producer never stalls for good and
// never has more than the window outstanding.
TEST(StreamInboxTest, OutboxAndInboxNeverDeadlock) {
  const std::uint64_t window = kMinStreamWindow;
  StreamOutbox out(window);
  StreamInbox in(window);
  const std::size_t sizes[] = {100, kMaxPartialBytes, 7000, kMaxPartialBytes / 2, 1};
  std::uint64_t produced = 0, consumed = 0;
  for (int step = 0; step < 20000 && consumed < 3000; ++step) {
    const std::size_t size = sizes[step % 5];
    if (produced < 3000 && out.has_room(size)) {
      out.push(std::string(size, 'x'), false);
      ++produced;
    }
    ASSERT_LE(out.outstanding_bytes(), window);
    while (out.unsent_count() > 0) {
      const auto seq = out.next_seq() - out.unsent_count();
      ASSERT_EQ(in.add(partial_frame(seq), out.unsent(0).size()), StreamInbox::Added::queued);
      out.mark_sent(1);
    }
    if (step % 3 == 0 && in.take()) ++consumed;  // a slow consumer
    if (auto ack = in.ack_due()) {
      ASSERT_TRUE(out.acknowledge(*ack));
    }
  }
  EXPECT_EQ(consumed, 3000u);
}

}  // namespace
}  // namespace stargate::agent
