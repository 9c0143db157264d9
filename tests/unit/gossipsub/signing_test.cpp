#include "p2p/protocols/gossipsub/signing.hpp"

#include "helpers.hpp"
#include "p2p/protocols/gossipsub/message_id.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::gossipsub {
namespace {

TEST(GossipsubSigning, SignedMessageVerifies) {
  test::Identity author;
  auto message = test::signed_message(author, "t", "data", 0x0102030405060708ULL);
  EXPECT_EQ(message.from, author.id.bytes());
  EXPECT_EQ(message.seqno, (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_TRUE(message.key.empty());
  EXPECT_EQ(check_signature(message), std::nullopt);
  EXPECT_EQ(message_id(message), std::string(as_string(author.id.bytes())) + std::string("\x01\x02\x03\x04\x05\x06\x07\x08"));
}

TEST(GossipsubSigning, TamperedOrForgedMessagesAreRejected) {
  test::Identity author, forger;
  auto message = test::signed_message(author, "t", "data", 1);
  auto tampered = message;
  tampered.data = to_bytes("DATA");
  EXPECT_EQ(check_signature(tampered), Rejection::bad_signature);

  // The forger signs with its own key but claims to be the author.
  auto forged = test::signed_message(forger, "t", "data", 1);
  forged.from = author.id.bytes();
  EXPECT_EQ(check_signature(forged), Rejection::bad_signature);

  // ... or attaches its key: it does not match `from`.
  forged.key = crypto::encode_public_key_proto(forger.key.public_key());
  EXPECT_EQ(check_signature(forged), Rejection::bad_author);

  auto unsigned_message = message;
  unsigned_message.signature.clear();
  EXPECT_EQ(check_signature(unsigned_message), Rejection::missing_signature);

  auto short_seqno = message;
  short_seqno.seqno.pop_back();
  EXPECT_EQ(check_signature(short_seqno), Rejection::bad_seqno);

  auto bad_from = message;
  bad_from.from = to_bytes("not a peer id");
  EXPECT_EQ(check_signature(bad_from), Rejection::bad_author);
}

TEST(GossipsubSigning, MatchingKeyFieldIsAccepted) {
  test::Identity author;
  auto message = test::signed_message(author, "t", "data", 1);
  message.key = crypto::encode_public_key_proto(author.key.public_key());
  EXPECT_EQ(check_signature(message), std::nullopt);
}

}  // namespace
}  // namespace stargate::p2p::gossipsub
