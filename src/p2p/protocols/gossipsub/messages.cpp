#include "p2p/protocols/gossipsub/messages.hpp"

#include "gossipsub.pb.h"

#include <iterator>
#include <utility>

namespace stargate::p2p::gossipsub {
namespace {

template <class Proto>
Bytes serialize(const Proto& proto) {
  Bytes out(proto.ByteSizeLong());
  proto.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }
void set_bytes(std::string* field, const Bytes& value) { field->assign(value.begin(), value.end()); }

template <class T>
void move_append(std::vector<T>& to, std::vector<T>&& from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

void fill(pb::gossipsub::Message& out, const Message& message, bool with_signature) {
  if (!message.from.empty()) set_bytes(out.mutable_from(), message.from);
  if (!message.data.empty()) set_bytes(out.mutable_data(), message.data);
  if (!message.seqno.empty()) set_bytes(out.mutable_seqno(), message.seqno);
  out.set_topic(message.topic);
  if (!with_signature) return;
  if (!message.signature.empty()) set_bytes(out.mutable_signature(), message.signature);
  if (!message.key.empty()) set_bytes(out.mutable_key(), message.key);
}

// Counts against one limit and says which was exceeded.
class Budget {
 public:
  Budget(std::size_t limit, const char* what) : left_(limit), what_(what) {}
  bool take(std::size_t n) {
    if (n > left_) return false;
    left_ -= n;
    return true;
  }
  Error error() const { return make_error(std::string("gossipsub RPC: too many ") + what_); }

 private:
  std::size_t left_;
  const char* what_;
};

}  // namespace

void Rpc::merge(Rpc&& other) {
  move_append(subscriptions, std::move(other.subscriptions));
  move_append(publish, std::move(other.publish));
  move_append(ihave, std::move(other.ihave));
  move_append(iwant, std::move(other.iwant));
  move_append(graft, std::move(other.graft));
  move_append(prune, std::move(other.prune));
}

Bytes encode(const Rpc& rpc) {
  pb::gossipsub::RPC out;
  for (const auto& sub : rpc.subscriptions) {
    auto* s = out.add_subscriptions();
    s->set_subscribe(sub.subscribe);
    s->set_topicid(sub.topic);
  }
  for (const auto& message : rpc.publish) fill(*out.add_publish(), message, true);
  if (rpc.has_control()) {
    auto* control = out.mutable_control();
    for (const auto& ihave : rpc.ihave) {
      auto* e = control->add_ihave();
      e->set_topicid(ihave.topic);
      for (const auto& id : ihave.ids) e->add_messageids(id.data(), id.size());
    }
    for (const auto& iwant : rpc.iwant) {
      auto* e = control->add_iwant();
      for (const auto& id : iwant.ids) e->add_messageids(id.data(), id.size());
    }
    for (const auto& graft : rpc.graft) control->add_graft()->set_topicid(graft.topic);
    for (const auto& prune : rpc.prune) {
      auto* e = control->add_prune();
      e->set_topicid(prune.topic);
      for (const auto& peer : prune.peers) set_bytes(e->add_peers()->mutable_peerid(), peer.bytes());
      if (prune.backoff_seconds) e->set_backoff(*prune.backoff_seconds);
    }
  }
  return serialize(out);
}

Bytes encode_for_signing(const Message& message) {
  pb::gossipsub::Message out;
  fill(out, message, false);
  return serialize(out);
}

Result<Rpc> decode(BytesView body, const Limits& limits) {
  if (body.size() > limits.max_rpc_size)
    return make_error("gossipsub RPC: " + std::to_string(body.size()) + " bytes (at most " +
                      std::to_string(limits.max_rpc_size) + ")");
  pb::gossipsub::RPC in;
  if (!in.ParseFromArray(body.data(), static_cast<int>(body.size())))
    return make_error("gossipsub RPC: not valid protobuf");
  if (static_cast<std::size_t>(in.subscriptions_size()) > limits.max_subscriptions)
    return make_error("gossipsub RPC: too many subscriptions");
  if (static_cast<std::size_t>(in.publish_size()) > limits.max_messages)
    return make_error("gossipsub RPC: too many messages");
  auto topic_ok = [&](const std::string& topic) { return !topic.empty() && topic.size() <= limits.max_topic_size; };
  Rpc rpc;
  for (const auto& s : in.subscriptions()) {
    if (!topic_ok(s.topicid())) return make_error("gossipsub RPC: subscription with an empty or oversized topic");
    rpc.subscriptions.push_back(SubOpt{s.subscribe(), s.topicid()});
  }
  for (const auto& m : in.publish()) {
    if (!topic_ok(m.topic())) return make_error("gossipsub RPC: message with an empty or oversized topic");
    rpc.publish.push_back(Message{bytes_of(m.from()), bytes_of(m.data()), bytes_of(m.seqno()), m.topic(),
                                  bytes_of(m.signature()), bytes_of(m.key())});
  }
  if (!in.has_control()) return rpc;
  const auto& control = in.control();
  Budget entries(limits.max_control_entries, "control entries");
  Budget ids(limits.max_message_ids, "message IDs");
  Budget px(limits.max_px_peers, "PX peers");
  if (!entries.take(static_cast<std::size_t>(control.ihave_size() + control.iwant_size() + control.graft_size() +
                                             control.prune_size())))
    return entries.error();
  auto copy_ids = [&](const auto& source, std::vector<Bytes>& to) -> bool {
    if (!ids.take(static_cast<std::size_t>(source.size()))) return false;
    for (const auto& id : source) {
      if (id.empty() || id.size() > limits.max_message_id_size) return false;
      to.push_back(bytes_of(id));
    }
    return true;
  };
  for (const auto& e : control.ihave()) {
    if (!topic_ok(e.topicid())) return make_error("gossipsub IHAVE: empty or oversized topic");
    IHave ihave{e.topicid(), {}};
    if (!copy_ids(e.messageids(), ihave.ids)) return make_error("gossipsub IHAVE: too many or malformed message IDs");
    rpc.ihave.push_back(std::move(ihave));
  }
  for (const auto& e : control.iwant()) {
    IWant iwant;
    if (!copy_ids(e.messageids(), iwant.ids)) return make_error("gossipsub IWANT: too many or malformed message IDs");
    rpc.iwant.push_back(std::move(iwant));
  }
  for (const auto& e : control.graft()) {
    if (!topic_ok(e.topicid())) return make_error("gossipsub GRAFT: empty or oversized topic");
    rpc.graft.push_back(Graft{e.topicid()});
  }
  for (const auto& e : control.prune()) {
    if (!topic_ok(e.topicid())) return make_error("gossipsub PRUNE: empty or oversized topic");
    if (!px.take(static_cast<std::size_t>(e.peers_size()))) return px.error();
    Prune prune{e.topicid(), {}, std::nullopt};
    for (const auto& peer : e.peers()) {
      if (auto id = crypto::PeerId::from_bytes(as_bytes(peer.peerid()))) prune.peers.push_back(std::move(*id));
    }
    if (e.has_backoff()) prune.backoff_seconds = e.backoff();
    rpc.prune.push_back(std::move(prune));
  }
  return rpc;
}

}  // namespace stargate::p2p::gossipsub
