// Signed task state records: who may write which state, what a reader refuses.
#include "agent/task_record.hpp"

#include "crypto/peer_id.hpp"

#include <gtest/gtest.h>

namespace stargate::agent {
namespace {

struct TaskParties {
  crypto::Ed25519PrivateKey caller = crypto::Ed25519PrivateKey::generate();
  crypto::Ed25519PrivateKey callee = crypto::Ed25519PrivateKey::generate();
  crypto::Ed25519PrivateKey stranger = crypto::Ed25519PrivateKey::generate();

  TaskRecord record(TaskState state) const {
    TaskRecord r;
    r.task_id = "0123456789abcdef0123456789abcdef";
    r.state = state;
    r.caller = crypto::agent_id(caller.public_key());
    r.callee = crypto::agent_id(callee.public_key());
    r.at_ms = 1'800'000'000'000;
    return r;
  }
  Result<TaskRecord> verify(const std::string& wire) const {
    return verify_task_record(wire, caller.public_key(), callee.public_key());
  }
};

TEST(TaskRecordTest, EachStateIsSignedByItsWriterAndRoundTrips) {
  TaskParties p;
  for (auto state : {TaskState::submitted, TaskState::canceled}) {
    auto ok = p.verify(sign_task_record(p.record(state), p.caller));
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->state, state);
    EXPECT_FALSE(p.verify(sign_task_record(p.record(state), p.callee)));  // not the callee's to write
  }
  for (auto state : {TaskState::working, TaskState::completed, TaskState::failed}) {
    auto record = p.record(state);
    if (state == TaskState::failed) record.error = RpcError(ErrorCode::task_expired, "expired at 10:00");
    auto ok = p.verify(sign_task_record(record, p.callee));
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->state, state);
    EXPECT_EQ(ok->task_id, record.task_id);
    if (state == TaskState::failed) {
      EXPECT_TRUE(ok->error && ok->error->is(ErrorCode::task_expired));
    }
    EXPECT_FALSE(p.verify(sign_task_record(record, p.caller)));    // not the caller's to write
    EXPECT_FALSE(p.verify(sign_task_record(record, p.stranger)));  // nor anyone else's
  }
}

TEST(TaskRecordTest, TamperedMisattributedAndMalformedRecordsAreRefused) {
  TaskParties p;
  auto wire = sign_task_record(p.record(TaskState::completed), p.callee);
  auto tampered = wire;
  tampered.replace(tampered.find("completed"), 9, "canceled\\u0020");
  EXPECT_FALSE(p.verify(tampered));
  // The same record checked against another task's parties.
  TaskParties others;
  EXPECT_FALSE(verify_task_record(wire, others.caller.public_key(), p.callee.public_key()));
  EXPECT_FALSE(p.verify("{}"));
  EXPECT_FALSE(p.verify("not json"));
  EXPECT_FALSE(p.verify(R"({"doc":"{}","sig":"00"})"));
  EXPECT_FALSE(p.verify(std::string(20000, ' ')));
  auto bad_id = p.record(TaskState::submitted);
  bad_id.task_id = "../../etc";
  EXPECT_FALSE(p.verify(sign_task_record(bad_id, p.caller)));
}

TEST(TaskRecordTest, TransitionsFollowTheTaskLifecycle) {
  EXPECT_TRUE(may_follow(std::nullopt, TaskState::submitted));
  EXPECT_FALSE(may_follow(std::nullopt, TaskState::working));
  EXPECT_TRUE(may_follow(TaskState::submitted, TaskState::working));
  EXPECT_TRUE(may_follow(TaskState::submitted, TaskState::canceled));
  EXPECT_TRUE(may_follow(TaskState::submitted, TaskState::failed));  // expired before it ran
  EXPECT_FALSE(may_follow(TaskState::working, TaskState::canceled));   // too late to cancel
  EXPECT_TRUE(may_follow(TaskState::working, TaskState::completed));
  EXPECT_TRUE(may_follow(TaskState::working, TaskState::failed));      // an error, or interrupted
  EXPECT_FALSE(may_follow(TaskState::working, TaskState::working));    // at most once
  for (auto done : {TaskState::completed, TaskState::failed, TaskState::canceled}) {
    EXPECT_TRUE(is_terminal(done));
    for (auto next : {TaskState::submitted, TaskState::working, TaskState::completed, TaskState::failed, TaskState::canceled})
      EXPECT_FALSE(may_follow(done, next));
  }
  EXPECT_EQ(parse_task_state("working"), TaskState::working);
  EXPECT_FALSE(parse_task_state("running"));
}

}  // namespace
}  // namespace stargate::agent
