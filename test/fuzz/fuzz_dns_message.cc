// libFuzzer target: one UDP datagram from a (possibly hostile) nameserver, through the DNS
// response parser and answer extraction. Besides ASan/UBSan finding any out-of-bounds read, it
// checks what the resolver relies on: names stay within DNS limits, addresses have a family,
// an OK answer has addresses, and a parsed question re-encodes and parses back to itself.
#include <cstdint>
#include <span>
#include <string>

#include "fuzz_support.h"
#include "net/dns_message.h"

namespace {

using namespace portico::net;

void check_name(const std::string& name) {
  // 255 octets on the wire is at most 253 characters of dotted text.
  FUZZ_CHECK(name.size() <= 253);
  for (char c : name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  DnsMessage message;
  if (parse_dns_message(std::span<const uint8_t>(data, size), message) != DnsParseError::kOk) return 0;
  if (message.truncated) FUZZ_CHECK(message.answers.empty());
  for (const DnsQuestion& q : message.questions) check_name(q.name);
  for (const DnsRecord& r : message.answers) {
    check_name(r.name);
    if (r.type == DnsType::kCname) {
      check_name(r.target);
    } else {
      FUZZ_CHECK(r.address.family == (r.type == DnsType::kA ? 4 : 6));
    }
    FUZZ_CHECK(r.ttl <= 0x7FFFFFFFu);
  }
  if (message.questions.empty()) return 0;

  const DnsQuestion& q = message.questions.front();
  for (DnsType type : {DnsType::kA, DnsType::kAaaa}) {
    const DnsAnswer answer = extract_dns_answer(message, q.name, type);
    if (answer.status == DnsAnswerStatus::kOk) {
      FUZZ_CHECK(!answer.addresses.empty());
      for (const DnsAddress& a : answer.addresses) FUZZ_CHECK(a.family == (type == DnsType::kA ? 4 : 6));
    } else {
      FUZZ_CHECK(answer.addresses.empty());
    }
  }

  // Labels containing '.' cannot round-trip through dotted text; everything else must.
  auto query = build_dns_query(message.id, q.name, DnsType::kA);
  if (!query) return 0;
  (*query)[2] |= 0x80;  // QR: parse it as a response
  DnsMessage again;
  FUZZ_CHECK(parse_dns_message(*query, again) == DnsParseError::kOk);
  FUZZ_CHECK(again.questions.size() == 1);
  FUZZ_CHECK(dns_message_matches(again, message.id, q.name, DnsType::kA));
  return 0;
}
