#include "p2p/protocols/relay/voucher.hpp"

#include "identify.pb.h"
#include "p2p/envelope.hpp"
#include "p2p/protocols/identify/peer_record.hpp"
#include "voucher.pb.h"

#include <gtest/gtest.h>

namespace stargate::p2p::relay {
namespace {

struct Keys {
  crypto::Ed25519PrivateKey relay = crypto::Ed25519PrivateKey::generate();
  crypto::Ed25519PrivateKey peer = crypto::Ed25519PrivateKey::generate();
  crypto::PeerId relay_id = crypto::PeerId::from_public_key(relay.public_key());
  crypto::PeerId peer_id = crypto::PeerId::from_public_key(peer.public_key());
};

TEST(RelayVoucher, SealsAndOpens) {
  Keys k;
  const Voucher v{k.relay_id, k.peer_id, 1'700'003'600};
  const Bytes sealed = seal_voucher(v, k.relay);
  EXPECT_EQ(open_voucher(sealed).value(), v);

  pb::identify::Envelope envelope;
  ASSERT_TRUE(envelope.ParseFromArray(sealed.data(), static_cast<int>(sealed.size())));
  EXPECT_EQ(envelope.payload_type(), std::string("\x03\x02", 2));
}

TEST(RelayVoucher, RejectsTampering) {
  Keys k;
  const Bytes sealed = seal_voucher(Voucher{k.relay_id, k.peer_id, 1'700'003'600}, k.relay);
  pb::identify::Envelope envelope;
  ASSERT_TRUE(envelope.ParseFromArray(sealed.data(), static_cast<int>(sealed.size())));

  auto reserialize = [](const pb::identify::Envelope& e) {
    Bytes out(e.ByteSizeLong());
    e.SerializeToArray(out.data(), static_cast<int>(out.size()));
    return out;
  };

  {  // a later expiration
    pb::circuit::ReservationVoucher payload;
    ASSERT_TRUE(payload.ParseFromString(envelope.payload()));
    payload.set_expiration(payload.expiration() + 1);
    auto e = envelope;
    e.set_payload(payload.SerializeAsString());
    auto opened = open_voucher(reserialize(e));
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("bad signature"), std::string::npos);
  }
  {  // a flipped signature bit
    auto e = envelope;
    std::string sig = e.signature();
    sig[0] = static_cast<char>(sig[0] ^ 1);
    e.set_signature(sig);
    EXPECT_FALSE(open_voucher(reserialize(e)));
  }
  {  // another payload type
    auto e = envelope;
    e.set_payload_type(std::string("\x03\x01", 2));
    EXPECT_FALSE(open_voucher(reserialize(e)));
  }
  {  // every truncation
    for (std::size_t n = 0; n < sealed.size(); ++n) EXPECT_FALSE(open_voucher(BytesView(sealed).first(n))) << n;
  }
}

TEST(RelayVoucher, RejectsAVoucherSignedByAnotherKeyThanItsRelay) {
  Keys k;
  // Signed correctly, but by the peer, while it names the relay.
  const Bytes sealed = seal_voucher(Voucher{k.relay_id, k.peer_id, 1}, k.peer);
  auto opened = open_voucher(sealed);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("another key"), std::string::npos);
}

TEST(RelayVoucher, DomainSeparatesItFromPeerRecords) {
  Keys k;
  // A voucher's signature does not carry over to a peer record, nor the other way round.
  const Bytes record = identify::seal_peer_record(identify::PeerRecord{k.relay_id, 1, {}}, k.relay);
  EXPECT_FALSE(open_voucher(record));
  const Bytes voucher = seal_voucher(Voucher{k.relay_id, k.peer_id, 1}, k.relay);
  EXPECT_FALSE(identify::open_peer_record(voucher));
  EXPECT_TRUE(identify::open_peer_record(record));

  // The same payload and type under another domain does not verify.
  const Bytes payload{1, 2, 3};
  const Bytes type{0x03, 0x02};
  const Bytes sealed = seal_envelope("some-other-domain", type, payload, k.relay);
  EXPECT_FALSE(open_envelope(sealed, kVoucherDomain, type, "test"));
  auto opened = open_envelope(sealed, "some-other-domain", type, "test").value();
  EXPECT_EQ(opened.payload, payload);
  EXPECT_EQ(opened.signer, k.relay.public_key());
}

TEST(RelayVoucher, RequiresEveryField) {
  Keys k;
  pb::circuit::ReservationVoucher payload;
  payload.set_relay(k.relay_id.bytes().data(), k.relay_id.bytes().size());
  payload.set_peer(k.peer_id.bytes().data(), k.peer_id.bytes().size());
  const std::string bytes = payload.SerializeAsString();  // no expiration
  const Bytes sealed = seal_envelope(kVoucherDomain, kVoucherPayloadType, as_bytes(bytes), k.relay);
  EXPECT_FALSE(open_voucher(sealed));
}

}  // namespace
}  // namespace stargate::p2p::relay
