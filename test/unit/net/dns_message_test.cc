#include "net/dns_message.h"

#include <gtest/gtest.h>

#include <random>

#include "dns_test_support.h"

namespace portico::net {
namespace {

using testing::WireWriter;

constexpr uint16_t kResponse = 0x8180;  // QR, RD, RA, NOERROR

std::span<const uint8_t> span_of(const WireWriter& w) { return {w.data().data(), w.data().size()}; }

// Response to "www.example.com" A with two A records whose owners point back at the question.
WireWriter two_a_records() {
  WireWriter w;
  w.header(0x1234, kResponse, 1, 2);
  w.name("www.example.com").u16(1).u16(1);
  w.pointer(12).rr(1, 300, 4).bytes({192, 0, 2, 1});
  w.pointer(12).rr(1, 120, 4).bytes({192, 0, 2, 2});
  return w;
}

TEST(DnsMessageTest, BuildsStandardQuery) {
  auto q = build_dns_query(0xBEEF, "www.Example.com.", DnsType::kAaaa);
  ASSERT_TRUE(q.has_value());
  WireWriter expected;
  expected.header(0xBEEF, 0x0100, 1, 0).name("www.Example.com").u16(28).u16(1);
  EXPECT_EQ(*q, expected.data());
}

TEST(DnsMessageTest, RejectsInvalidQueryNames) {
  EXPECT_FALSE(build_dns_query(1, "", DnsType::kA));
  EXPECT_FALSE(build_dns_query(1, ".", DnsType::kA));
  EXPECT_FALSE(build_dns_query(1, "a..b", DnsType::kA));
  EXPECT_FALSE(build_dns_query(1, ".a", DnsType::kA));
  EXPECT_FALSE(build_dns_query(1, "a..", DnsType::kA));
  EXPECT_FALSE(build_dns_query(1, std::string(64, 'x') + ".com", DnsType::kA));
  EXPECT_TRUE(build_dns_query(1, std::string(63, 'x') + ".com", DnsType::kA));
  std::string long_name;
  for (int i = 0; i < 4; ++i) long_name += std::string(63, 'a') + ".";
  long_name += "com";  // 4*64 + 4 + 1 = 261 octets on the wire
  EXPECT_FALSE(build_dns_query(1, long_name, DnsType::kA));
}

TEST(DnsMessageTest, ParsesAnswersWithCompressedOwners) {
  WireWriter w = two_a_records();
  DnsMessage m;
  ASSERT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kOk);
  EXPECT_EQ(m.id, 0x1234);
  EXPECT_FALSE(m.truncated);
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0].name, "www.example.com");
  ASSERT_EQ(m.answers.size(), 2u);
  EXPECT_EQ(m.answers[0].name, "www.example.com");
  EXPECT_EQ(m.answers[0].address.to_string(), "192.0.2.1");
  EXPECT_EQ(m.answers[1].ttl, 120u);

  EXPECT_TRUE(dns_message_matches(m, 0x1234, "WWW.example.COM.", DnsType::kA));
  EXPECT_FALSE(dns_message_matches(m, 0x1235, "www.example.com", DnsType::kA));
  EXPECT_FALSE(dns_message_matches(m, 0x1234, "example.com", DnsType::kA));
  EXPECT_FALSE(dns_message_matches(m, 0x1234, "www.example.com", DnsType::kAaaa));

  DnsAnswer a = extract_dns_answer(m, "www.example.com", DnsType::kA);
  EXPECT_EQ(a.status, DnsAnswerStatus::kOk);
  ASSERT_EQ(a.addresses.size(), 2u);
  EXPECT_EQ(a.ttl, 120u);
  EXPECT_EQ(extract_dns_answer(m, "www.example.com", DnsType::kAaaa).status, DnsAnswerStatus::kNoData);
}

TEST(DnsMessageTest, FollowsCnameChainAndTakesMinimumTtl) {
  WireWriter w;
  w.header(7, kResponse, 1, 4);
  w.name("api.example.com").u16(28).u16(1);  // question at 12, "example.com" suffix at 16
  // api.example.com CNAME edge.example.com (target compressed onto the question's suffix)
  w.pointer(12).rr(5, 600, 7).labels("edge").pointer(16);
  const uint16_t edge = static_cast<uint16_t>(w.size() - 7);
  // edge.example.com CNAME lb.example.net (uncompressed)
  w.pointer(edge).rr(5, 90, 16).name("lb.example.net");
  const uint16_t lb = static_cast<uint16_t>(w.size() - 16);
  w.pointer(lb).rr(28, 3600, 16).bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  // An unrelated record of the asked type must not be picked up.
  w.name("other.example.com").rr(28, 5, 16).bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
  DnsMessage m;
  ASSERT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kOk);
  ASSERT_EQ(m.answers.size(), 4u);
  EXPECT_EQ(m.answers[0].target, "edge.example.com");
  DnsAnswer a = extract_dns_answer(m, "api.example.com", DnsType::kAaaa);
  ASSERT_EQ(a.status, DnsAnswerStatus::kOk);
  ASSERT_EQ(a.addresses.size(), 1u);
  EXPECT_EQ(a.addresses[0].to_string(), "2001:db8::1");
  EXPECT_EQ(a.ttl, 90u);
}

TEST(DnsMessageTest, CnameLoopIsReportedNotFollowedForever) {
  WireWriter w;
  w.header(7, kResponse, 1, 2);
  w.name("a.test").u16(1).u16(1);
  w.name("a.test").rr(5, 60, 8).name("b.test");
  w.name("b.test").rr(5, 60, 8).name("a.test");
  DnsMessage m;
  ASSERT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kOk);
  EXPECT_EQ(extract_dns_answer(m, "a.test", DnsType::kA).status, DnsAnswerStatus::kBadCnameChain);
}

TEST(DnsMessageTest, CnameLeavingTheResponseIsNoData) {
  WireWriter w;
  w.header(7, kResponse, 1, 1);
  w.name("a.test").u16(1).u16(1);
  w.name("a.test").rr(5, 60, 8).name("z.test");
  DnsMessage m;
  ASSERT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kOk);
  EXPECT_EQ(extract_dns_answer(m, "a.test", DnsType::kA).status, DnsAnswerStatus::kNoData);
}

TEST(DnsMessageTest, RcodesAndTruncationAreDistinct) {
  auto with_flags = [](uint16_t flags) {
    WireWriter w;
    w.header(9, flags, 1, 0).name("x.test").u16(1).u16(1);
    DnsMessage m;
    EXPECT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kOk);
    return extract_dns_answer(m, "x.test", DnsType::kA).status;
  };
  EXPECT_EQ(with_flags(0x8183), DnsAnswerStatus::kNxDomain);
  EXPECT_EQ(with_flags(0x8182), DnsAnswerStatus::kServFail);
  EXPECT_EQ(with_flags(0x8185), DnsAnswerStatus::kServerError);
  EXPECT_EQ(with_flags(0x8181), DnsAnswerStatus::kServerError);
  EXPECT_EQ(with_flags(0x8180), DnsAnswerStatus::kNoData);
  EXPECT_EQ(with_flags(0x8380), DnsAnswerStatus::kTruncated);
}

TEST(DnsMessageTest, TruncatedResponseWithMissingRecordsStillParses) {
  WireWriter w;
  w.header(9, 0x8380, 1, 5).name("x.test").u16(1).u16(1);  // claims 5 answers, carries none
  DnsMessage m;
  ASSERT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kOk);
  EXPECT_TRUE(m.truncated);
  EXPECT_TRUE(m.answers.empty());
  EXPECT_TRUE(dns_message_matches(m, 9, "x.test", DnsType::kA));
}

TEST(DnsMessageTest, EveryStrictPrefixIsAShortMessage) {
  const std::vector<uint8_t> full = two_a_records().data();
  for (size_t n = 0; n < full.size(); ++n) {
    DnsMessage m;
    EXPECT_EQ(parse_dns_message(std::span<const uint8_t>(full.data(), n), m), DnsParseError::kShortMessage)
        << "prefix of " << n << " bytes";
  }
}

TEST(DnsMessageTest, QueryIsNotAResponse) {
  auto q = build_dns_query(1, "a.test", DnsType::kA);
  DnsMessage m;
  EXPECT_EQ(parse_dns_message(*q, m), DnsParseError::kNotResponse);
}

TEST(DnsMessageTest, PointerLoopsAndForwardPointersAreRejected) {
  {  // question name points at itself
    WireWriter w;
    w.header(1, kResponse, 1, 0).pointer(12).u16(1).u16(1);
    DnsMessage m;
    EXPECT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kBadPointer);
  }
  {  // "a" then a pointer back to the start of the same name: a → a → a ...
    WireWriter w;
    w.header(1, kResponse, 1, 0).labels("a").pointer(12).u16(1).u16(1);
    DnsMessage m;
    EXPECT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kBadPointer);
  }
  {  // two names pointing at each other: the answer owner jumps back to the question, whose
     // labels end in a pointer forward to the answer.
    WireWriter w;
    w.header(1, kResponse, 1, 1).labels("q").pointer(20).u16(1).u16(1);  // question: 12..19
    w.labels("r").pointer(12).rr(1, 1, 4).bytes({1, 2, 3, 4});            // owner at 20
    DnsMessage m;
    EXPECT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kBadPointer);
  }
  {  // pointer beyond the end
    WireWriter w;
    w.header(1, kResponse, 1, 0).pointer(0x3FFF).u16(1).u16(1);
    DnsMessage m;
    EXPECT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kBadPointer);
  }
  {  // pointer cut in half at the end of the datagram
    WireWriter w;
    w.header(1, kResponse, 1, 0).u8(0xC0);
    DnsMessage m;
    EXPECT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kShortMessage);
  }
}

TEST(DnsMessageTest, ReservedLabelTypesAndLongNamesAreRejected) {
  {
    WireWriter w;
    w.header(1, kResponse, 1, 0).u8(0x41).u8('x').u8(0).u16(1).u16(1);
    DnsMessage m;
    EXPECT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kBadLabel);
  }
  {
    WireWriter w;
    w.header(1, kResponse, 1, 0);
    std::string label(63, 'a');
    for (int i = 0; i < 5; ++i) w.labels(label);
    w.u8(0).u16(1).u16(1);
    DnsMessage m;
    EXPECT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kNameTooLong);
  }
  {  // a long name built from pointers must hit the same limit
    WireWriter w;
    w.header(1, kResponse, 1, 1);
    w.labels(std::string(63, 'a')).labels(std::string(63, 'b')).u8(0).u16(1).u16(1);  // 12..
    w.labels(std::string(63, 'c')).labels(std::string(63, 'd')).pointer(12).rr(1, 1, 4).bytes({1, 2, 3, 4});
    DnsMessage m;
    EXPECT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kNameTooLong);
  }
}

TEST(DnsMessageTest, BadRdataLengthsAreRejected) {
  {  // A with 5 bytes of rdata
    WireWriter w;
    w.header(1, kResponse, 1, 1).name("x.test").u16(1).u16(1);
    w.pointer(12).rr(1, 1, 5).bytes({1, 2, 3, 4, 5});
    DnsMessage m;
    EXPECT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kBadRdata);
  }
  {  // rdlength past the end of the datagram
    WireWriter w;
    w.header(1, kResponse, 1, 1).name("x.test").u16(1).u16(1);
    w.pointer(12).rr(1, 1, 40).bytes({1, 2, 3, 4});
    DnsMessage m;
    EXPECT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kShortMessage);
  }
  {  // CNAME target running past its rdlength
    WireWriter w;
    w.header(1, kResponse, 1, 1).name("x.test").u16(1).u16(1);
    w.pointer(12).rr(5, 1, 3).name("long.target.test");
    DnsMessage m;
    EXPECT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kBadRdata);
  }
  {  // CNAME rdlength longer than its name
    WireWriter w;
    w.header(1, kResponse, 1, 1).name("x.test").u16(1).u16(1);
    w.pointer(12).rr(5, 1, 9).name("y.test").u8(0).u8(0);
    DnsMessage m;
    EXPECT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kBadRdata);
  }
}

TEST(DnsMessageTest, UnknownRecordTypesAreSkippedAndHugeTtlIsZero) {
  WireWriter w;
  w.header(1, kResponse, 1, 3).name("x.test").u16(1).u16(1);
  w.pointer(12).rr(16, 1, 3).bytes({2, 'h', 'i'});          // TXT
  w.pointer(12).u16(1).u16(3).u32(1).u16(4).bytes({9, 9, 9, 9});  // class CH
  w.pointer(12).rr(1, 0x80000000u, 4).bytes({10, 0, 0, 1});
  DnsMessage m;
  ASSERT_EQ(parse_dns_message(span_of(w), m), DnsParseError::kOk);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].ttl, 0u);
}

// Poor man's fuzzing in the unit suite: random mutations of a valid response must only ever
// produce a value, never a crash or an out-of-bounds read (run under ASan in the sanitize build).
TEST(DnsMessageTest, RandomMutationsNeverCrash) {
  const std::vector<uint8_t> base = two_a_records().data();
  std::mt19937 rng(12345);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> m = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) m[rng() % m.size()] = static_cast<uint8_t>(rng());
    m.resize(rng() % (m.size() + 1));
    DnsMessage out;
    if (parse_dns_message(m, out) == DnsParseError::kOk) {
      ++parsed;
      (void)extract_dns_answer(out, "www.example.com", DnsType::kA);
    }
  }
  SUCCEED() << parsed << " mutants parsed";
}

TEST(DnsMessageTest, AddressLiterals) {
  EXPECT_EQ(DnsAddress::parse("10.0.0.1")->family, 4);
  EXPECT_EQ(DnsAddress::parse("::1")->family, 6);
  EXPECT_EQ(DnsAddress::parse("fe80::1")->to_string(), "fe80::1");
  EXPECT_FALSE(DnsAddress::parse("10.0.0"));
  EXPECT_FALSE(DnsAddress::parse("example.com"));
  EXPECT_FALSE(DnsAddress::parse(""));
  EXPECT_EQ(normalize_dns_name("WWW.Example.COM."), "www.example.com");
}

}  // namespace
}  // namespace portico::net
