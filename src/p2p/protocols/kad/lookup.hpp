#pragma once
// One iterative Kademlia lookup (sans-IO): asks the closest peers it knows of for peers closer
// to the target, α requests at a time, and ends when the k closest peers it has heard of have
// all answered (or nobody is left to ask). The I/O layer sends the requests next() hands out,
// times them out, and reports each as on_response() or on_failure(). Bounded: at most
// `max_candidates` peers not yet asked are remembered, the farthest forgotten first; a peer is
// never asked twice. With disjoint paths (S/Kademlia §4.4, as rust-libp2p's disjoint_query_paths)
// the seeds are dealt out to d paths, each a lookup of its own with its own candidates; a peer is
// asked by one path only (the first that wants it), its answer feeds only that path (the others
// that know of it count it as answered, with nothing closer), and the result merges the paths. A
// path that asks a peer who lies can be led astray, but not the others: one path free of liars is
// enough to reach the honest peers closest to the target.
#include "base/multiaddr.hpp"
#include "p2p/protocols/kad/kad_key.hpp"

#include <map>
#include <vector>

namespace stargate::p2p::kad {

struct Candidate {
  crypto::PeerId peer;
  std::vector<Multiaddr> addrs;
};

struct LookupConfig {
  std::size_t alpha = 3;   // requests in flight, per path
  std::size_t k = 20;      // a path ends when its k closest have answered
  std::size_t max_candidates = 256;  // shared out among the paths (at least k each)
  std::size_t disjoint_paths = 1;    // d; 1 is the plain Kademlia lookup (0 counts as 1)
};

class Lookup {
 public:
  Lookup(const KadKey& target, const crypto::PeerId& self, std::vector<Candidate> seeds, LookupConfig config = {});

  // Peers to ask now (up to α per path); each is in flight until on_response() or on_failure().
  std::vector<Candidate> next();
  // `from` answered with `closer` (ourselves and peers already known are skipped).
  void on_response(const crypto::PeerId& from, std::vector<Candidate> closer);
  void on_failure(const crypto::PeerId& from);
  // `peer` has not answered within the I/O layer's patience (much shorter than its timeout): it
  // stops holding one of the α slots and no longer holds up the end of the lookup, though a late
  // answer still counts. Without this, a few dead peers among the closest stall every lookup for
  // the full request timeout.
  void on_stalled(const crypto::PeerId& peer);

  // Every path has heard its k closest answer (or has nobody left to ask).
  bool finished() const;
  std::size_t in_flight() const { return in_flight_; }
  // The peers that answered, on every path, closest first.
  std::vector<Candidate> closest_answered(std::size_t count) const;
  // The most hops any of the k closest answers took from a seed (seeds are hop 1).
  std::size_t hops() const;
  std::size_t requests_sent() const { return requests_; }
  std::size_t failures() const { return failures_; }
  const KadKey& target() const { return target_; }
  std::size_t paths() const { return paths_.size(); }

 private:
  enum class State { waiting, in_flight, stalled, answered, failed };
  // A peer one of the paths asked. Its request's state is what every path sees of it.
  struct Contact {
    Candidate candidate;
    State state = State::in_flight;
    std::size_t path = 0;  // the path that asked it: the only one its answer feeds
    std::size_t hop = 1;
  };
  // A path's candidates, closest first, with the hop at which the path heard of each.
  struct Known {
    Candidate candidate;
    std::size_t hop = 1;
  };
  using Path = std::map<Distance, Known>;

  // False when the peer is ourselves or the path knows it already.
  bool insert(std::size_t path, Candidate candidate, std::size_t hop);
  State state_of(const Distance& d) const;  // waiting until a path asks it
  Contact* contact_of(const crypto::PeerId& peer);
  void release(const Contact& contact);  // it leaves the α slots of its path
  bool path_finished(std::size_t path) const;

  KadKey target_;
  crypto::PeerId self_;
  LookupConfig config_;
  std::vector<Path> paths_;
  std::map<Distance, Contact> contacted_;  // closest first
  std::vector<std::size_t> in_flight_by_path_;
  std::size_t in_flight_ = 0;
  std::size_t requests_ = 0;
  std::size_t failures_ = 0;
};

}  // namespace stargate::p2p::kad
