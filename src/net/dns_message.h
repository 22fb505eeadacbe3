// DnsMessage: sans-I/O codec for the small part of DNS (RFC 1035, RFC 3596) a stub resolver needs:
// build an A/AAAA query, parse a response, and pick the addresses that answer the question.
//
// Contract: pure functions on bytes, callable from any thread; no Asio, no sockets, no
// exceptions. `parse_dns_message` reads untrusted network input: every read is bounds-checked,
// compression pointers must point strictly backwards (so a pointer loop cannot exist), names are
// capped at 255 octets, and any malformation is a `DnsParseError`, never a crash. The fuzz build
// compiles this file alone (with src/core).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace portico::net {

enum class DnsType : uint16_t { kA = 1, kCname = 5, kAaaa = 28 };

inline constexpr uint16_t kDnsClassIn = 1;
// Names on the wire are at most 255 octets, labels 63 (RFC 1035 §2.3.4).
inline constexpr size_t kDnsMaxNameLength = 255;
inline constexpr size_t kDnsMaxLabelLength = 63;
// A UDP response without EDNS0 is at most 512 bytes; a buffer this size also takes the larger
// datagrams some servers send anyway.
inline constexpr size_t kDnsMaxUdpMessage = 4096;

enum class DnsRcode : uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
};

// An IPv4 (first 4 bytes used) or IPv6 address from an A/AAAA record or a hosts file.
struct DnsAddress {
  uint8_t family = 4;  // 4 or 6
  std::array<uint8_t, 16> bytes{};

  static DnsAddress v4(std::array<uint8_t, 4> b);
  static DnsAddress v6(std::array<uint8_t, 16> b);
  // Parses a numeric IPv4/IPv6 literal (an IPv6 zone "%eth0" is not accepted).
  static std::optional<DnsAddress> parse(std::string_view text);
  std::string to_string() const;
  auto operator<=>(const DnsAddress&) const = default;
};

struct DnsQuestion {
  std::string name;  // lower case, no trailing dot; "" is the root
  uint16_t type = 0;
  uint16_t klass = 0;
};

// One answer-section record of a type we use; records of other types or classes are skipped.
struct DnsRecord {
  std::string name;  // owner, lower case, no trailing dot
  DnsType type = DnsType::kA;
  uint32_t ttl = 0;
  DnsAddress address;  // kA / kAaaa
  std::string target;  // kCname
};

struct DnsMessage {
  uint16_t id = 0;
  bool truncated = false;  // TC: the answer did not fit; the records below may be incomplete
  bool authoritative = false;
  uint8_t rcode = 0;
  std::vector<DnsQuestion> questions;
  std::vector<DnsRecord> answers;  // empty when `truncated` (not parsed: it is incomplete)
};

enum class DnsParseError : uint8_t {
  kOk = 0,
  kShortMessage,    // a field runs past the end of the datagram
  kNotResponse,     // QR bit clear
  kBadLabel,        // reserved label type (0x40 / 0x80)
  kBadPointer,      // compression pointer that does not point strictly backwards (loops, forward refs)
  kNameTooLong,     // more than 255 octets
  kBadRdata,        // RDLENGTH inconsistent with the record type
};

std::string_view to_string(DnsParseError error);

// Parses a response datagram. On error `out` is unspecified.
DnsParseError parse_dns_message(std::span<const uint8_t> data, DnsMessage& out);

// Builds a standard query (RD set, one question, class IN). Returns nullopt if `name` is not a
// valid DNS name (empty label, label > 63, name > 255 octets). `name` may end in one dot.
std::optional<std::vector<uint8_t>> build_dns_query(uint16_t id, std::string_view name, DnsType type);

// Lower-cases ASCII and drops one trailing dot: the form every name in this codec is compared in.
std::string normalize_dns_name(std::string_view name);

// True when `message` answers exactly our question: same id, one question, same name (case
// insensitive), type and class IN. Anything else is treated as spoofed or stale and ignored.
bool dns_message_matches(const DnsMessage& message, uint16_t id, std::string_view name, DnsType type);

enum class DnsAnswerStatus : uint8_t {
  kOk = 0,          // addresses found
  kNoData,          // NOERROR, but no record of the type (possibly after a CNAME chain)
  kNxDomain,        // the name does not exist
  kServFail,        // server failed; another server may succeed
  kServerError,     // FORMERR, NOTIMP, REFUSED or an unknown RCODE; another server may succeed
  kTruncated,       // TC set: see DnsResolver for what the caller does with it
  kBadCnameChain,   // CNAME chain longer than kDnsMaxCnameChain (or a loop)
};

inline constexpr int kDnsMaxCnameChain = 8;

struct DnsAnswer {
  DnsAnswerStatus status = DnsAnswerStatus::kNoData;
  std::vector<DnsAddress> addresses;
  uint32_t ttl = 0;  // minimum over the address records and every CNAME followed to reach them
};

// Selects the addresses of `type` for `name`, following CNAME records found in the same response.
// A chain that leaves the response (CNAME target without records here) is kNoData: recursive
// servers include the whole chain, so a stub does not chase it.
DnsAnswer extract_dns_answer(const DnsMessage& message, std::string_view name, DnsType type);

}  // namespace portico::net
