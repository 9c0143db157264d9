#pragma once
// The gossipsub v1.1 router as a state machine (sans-IO): fed with events (a peer came or went,
// an RPC arrived, the application subscribed or published, a heartbeat) with the time passed in,
// it queues RPCs per peer and messages for the application, which the caller takes and carries
// out. No sockets, no clocks, one thread.
//
// Peers speak /meshsub/1.1.0, /meshsub/1.0.0 (no PX, no backoff field) or /floodsub/1.0.0 (no
// mesh, no control messages: every message of a topic they subscribe to goes to them).
// Messages are StrictSign (signing.hpp); invalid ones are dropped and count against the peer that
// sent them (P4). A peer whose score falls below the graylist threshold is ignored entirely.
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"
#include "p2p/protocols/gossipsub/config.hpp"
#include "p2p/protocols/gossipsub/message_cache.hpp"
#include "p2p/protocols/gossipsub/message_id.hpp"
#include "p2p/protocols/gossipsub/peer_score.hpp"
#include "p2p/protocols/gossipsub/seen_cache.hpp"
#include "p2p/protocols/gossipsub/signing.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace stargate::p2p::gossipsub {

enum class PeerKind { floodsub, meshsub_v10, meshsub_v11 };
// The kind a negotiated protocol ID stands for, std::nullopt for another protocol.
std::optional<PeerKind> peer_kind(std::string_view protocol);

struct RouterStats {
  std::uint64_t published = 0;   // by us
  std::uint64_t delivered = 0;   // to the application (first copies of valid messages)
  std::uint64_t forwarded = 0;   // message copies sent on to peers
  std::uint64_t duplicates = 0;
  std::array<std::uint64_t, 4> rejected{};  // by Rejection
  std::uint64_t unsubscribed_topic = 0;     // messages in topics we do not follow, dropped
  std::uint64_t graylisted_rpcs = 0;        // RPCs ignored because their peer is graylisted
  std::uint64_t ihave_sent = 0;
  std::uint64_t iwant_sent = 0;
  std::uint64_t iwant_served = 0;           // messages sent in answer to IWANT
  std::uint64_t graft_sent = 0;
  std::uint64_t prune_sent = 0;
  std::uint64_t backoff_violations = 0;     // GRAFTs during a backoff we set
  std::uint64_t topics_refused = 0;         // subscriptions over max_topics_per_peer
};

// A valid message for the application, and the peer it came from.
struct Delivery {
  MessageId id;
  Message message;
  crypto::PeerId received_from;
};

class Router {
 public:
  // `first_seqno` should be random (or a timestamp), so seqnos do not repeat across restarts.
  Router(crypto::Ed25519PrivateKey key, RouterConfig config, std::uint64_t first_seqno, std::uint64_t random_seed);

  const crypto::PeerId& peer_id() const { return self_; }
  const RouterConfig& config() const { return config_; }

  // A stream for `kind` is open to `peer`; `outbound`: we dialed the connection. Tells the peer
  // our subscriptions. Ignored over max_peers.
  void add_peer(const crypto::PeerId& peer, PeerKind kind, bool outbound, TimePoint now);
  void remove_peer(const crypto::PeerId& peer);
  bool has_peer(const crypto::PeerId& peer) const { return peers_.count(peer) != 0; }
  void handle_rpc(const crypto::PeerId& from, Rpc rpc, TimePoint now);

  void subscribe(const std::string& topic, TimePoint now);
  void unsubscribe(const std::string& topic, TimePoint now);
  bool subscribed(const std::string& topic) const { return subscriptions_.count(topic) != 0; }
  // Signs and sends `data` to `topic`; fails when the data is over max_message_size.
  Result<MessageId> publish(const std::string& topic, Bytes data, TimePoint now);
  // Mesh maintenance, fanout expiry, gossip emission, cache shifts and score decay.
  void heartbeat(TimePoint now);

  // What the caller carries out. Each call empties its queue.
  std::vector<std::pair<crypto::PeerId, Rpc>> take_outbound();
  std::vector<Delivery> take_deliveries();
  // Peers learnt from PRUNE peer exchange, for the caller to dial (bounded).
  std::vector<crypto::PeerId> take_px_candidates();

  std::vector<crypto::PeerId> peers(const std::string& topic) const;
  std::vector<crypto::PeerId> mesh(const std::string& topic) const;
  std::vector<crypto::PeerId> fanout(const std::string& topic) const;
  double score(const crypto::PeerId& peer, TimePoint now) const { return score_.score(peer, now); }
  bool in_backoff(const crypto::PeerId& peer, const std::string& topic, TimePoint now) const;
  const RouterStats& stats() const { return stats_; }

 private:
  struct PeerState {
    PeerKind kind = PeerKind::meshsub_v11;
    bool outbound = false;
    std::set<std::string> topics;
    std::size_t ihaves_this_heartbeat = 0;
    std::size_t ids_asked_this_heartbeat = 0;
  };
  using PeerSet = std::set<crypto::PeerId>;

  // router.cpp: events
  void handle_subscription(const crypto::PeerId& from, PeerState& state, const SubOpt& sub);
  void handle_message(const crypto::PeerId& from, Message message, TimePoint now);
  void forward(const MessageId& id, const Message& message, const crypto::PeerId* source);
  // router_control.cpp: IHAVE / IWANT / GRAFT / PRUNE
  void handle_ihave(const crypto::PeerId& from, PeerState& state, const std::vector<IHave>& ihaves, TimePoint now);
  void handle_iwant(const crypto::PeerId& from, const std::vector<IWant>& iwants, TimePoint now);
  void handle_graft(const crypto::PeerId& from, const PeerState& state, const Graft& graft, TimePoint now);
  void handle_prune(const crypto::PeerId& from, const Prune& prune, TimePoint now);
  void send_graft(const crypto::PeerId& peer, const std::string& topic);
  void send_prune(const crypto::PeerId& peer, const std::string& topic, Duration backoff, bool with_px, TimePoint now);
  void set_backoff(const crypto::PeerId& peer, const std::string& topic, TimePoint until);
  // router_heartbeat.cpp
  void maintain_mesh(const std::string& topic, PeerSet& mesh, TimePoint now);
  void maintain_fanout(TimePoint now);
  void emit_gossip(TimePoint now);
  // Subscribed meshsub peers of `topic` not in `exclude` that pass `accept`, shuffled, at most `n`.
  std::vector<crypto::PeerId> pick_peers(const std::string& topic, std::size_t n, const PeerSet& exclude,
                                         const std::function<bool(const crypto::PeerId&)>& accept);
  void queue(const crypto::PeerId& peer, Rpc rpc);
  bool is_meshsub(const crypto::PeerId& peer) const;

  crypto::Ed25519PrivateKey key_;
  crypto::PeerId self_;
  RouterConfig config_;
  std::uint64_t next_seqno_;
  std::mt19937_64 rng_;
  PeerScore score_;
  SeenCache seen_;
  MessageCache mcache_;
  std::unordered_map<crypto::PeerId, PeerState> peers_;
  std::unordered_map<std::string, PeerSet> topic_peers_;  // who subscribes to what
  std::set<std::string> subscriptions_;
  std::unordered_map<std::string, PeerSet> mesh_;
  std::unordered_map<std::string, PeerSet> fanout_;
  std::unordered_map<std::string, TimePoint> fanout_last_publish_;
  // (topic, peer) -> until when we must not GRAFT, nor accept its GRAFT.
  std::map<std::pair<std::string, crypto::PeerId>, TimePoint> backoff_;
  std::map<crypto::PeerId, Rpc> outbound_;
  std::vector<Delivery> deliveries_;
  std::vector<crypto::PeerId> px_candidates_;
  std::size_t heartbeats_ = 0;
  RouterStats stats_;
};

}  // namespace stargate::p2p::gossipsub
