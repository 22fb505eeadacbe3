#include "net/dns_message.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace portico::net {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr uint16_t kFlagQr = 0x8000;
constexpr uint16_t kFlagAa = 0x0400;
constexpr uint16_t kFlagTc = 0x0200;
constexpr uint16_t kFlagRd = 0x0100;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_names(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Cursor over the datagram; every read checks the bounds first and reports failure as a value.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}

  size_t pos() const { return pos_; }
  bool u16(uint16_t& out) {
    if (data_.size() - pos_ < 2) return false;
    out = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t& out) {
    if (data_.size() - pos_ < 4) return false;
    out = (uint32_t{data_[pos_]} << 24) | (uint32_t{data_[pos_ + 1]} << 16) |
          (uint32_t{data_[pos_ + 2]} << 8) | uint32_t{data_[pos_ + 3]};
    pos_ += 4;
    return true;
  }
  bool skip(size_t n) {
    if (data_.size() - pos_ < n) return false;
    pos_ += n;
    return true;
  }

  // Reads a possibly compressed name at the cursor and leaves the cursor after its in-place part.
  // Loop protection: every pointer must target an offset below the start of the label run that
  // contains it. Offsets therefore strictly decrease with each jump, so decoding terminates
  // after at most one pass over the message, whatever the input. Legitimate compressors only
  // point at earlier names, so nothing valid is rejected.
  DnsParseError name(std::string& out) {
    out.clear();
    size_t p = pos_;
    size_t run_start = pos_;
    bool jumped = false;
    size_t wire_length = 1;  // the terminating root label
    for (;;) {
      if (p >= data_.size()) return DnsParseError::kShortMessage;
      const uint8_t len = data_[p];
      const uint8_t kind = len & 0xC0;
      if (kind == 0xC0) {
        if (p + 1 >= data_.size()) return DnsParseError::kShortMessage;
        const size_t target = (size_t{len & 0x3Fu} << 8) | data_[p + 1];
        if (target >= run_start) return DnsParseError::kBadPointer;
        if (!jumped) pos_ = p + 2;
        jumped = true;
        run_start = target;
        p = target;
        continue;
      }
      if (kind != 0) return DnsParseError::kBadLabel;
      if (len == 0) {
        if (!jumped) pos_ = p + 1;
        return DnsParseError::kOk;
      }
      if (data_.size() - p - 1 < len) return DnsParseError::kShortMessage;
      wire_length += size_t{len} + 1;
      if (wire_length > kDnsMaxNameLength) return DnsParseError::kNameTooLong;
      if (!out.empty()) out.push_back('.');
      for (size_t i = 0; i < len; ++i) out.push_back(lower(static_cast<char>(data_[p + 1 + i])));
      p += size_t{len} + 1;
    }
  }

  std::span<const uint8_t> data() const { return data_; }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v & 0xFF));
}

}  // namespace

DnsAddress DnsAddress::v4(std::array<uint8_t, 4> b) {
  DnsAddress a;
  a.family = 4;
  std::copy(b.begin(), b.end(), a.bytes.begin());
  return a;
}

DnsAddress DnsAddress::v6(std::array<uint8_t, 16> b) {
  DnsAddress a;
  a.family = 6;
  a.bytes = b;
  return a;
}

std::optional<DnsAddress> DnsAddress::parse(std::string_view text) {
  // inet_pton needs a terminated string; anything longer than an IPv6 literal is not one.
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  DnsAddress a;
  if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
    a.family = 4;
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
    a.family = 6;
    return a;
  }
  return std::nullopt;
}

std::string DnsAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf)) == nullptr) return {};
  return buf;
}

std::string_view to_string(DnsParseError error) {
  switch (error) {
    case DnsParseError::kOk: return "ok";
    case DnsParseError::kShortMessage: return "short message";
    case DnsParseError::kNotResponse: return "not a response";
    case DnsParseError::kBadLabel: return "bad label type";
    case DnsParseError::kBadPointer: return "bad compression pointer";
    case DnsParseError::kNameTooLong: return "name too long";
    case DnsParseError::kBadRdata: return "bad rdata length";
  }
  return "unknown";
}

std::string normalize_dns_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) c = lower(c);
  return out;
}

std::optional<std::vector<uint8_t>> build_dns_query(uint16_t id, std::string_view name, DnsType type) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(kHeaderSize + name.size() + 2 + 4);
  put16(out, id);
  put16(out, kFlagRd);
  put16(out, 1);  // QDCOUNT
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  size_t wire_length = 1;
  while (!name.empty()) {
    const size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > kDnsMaxLabelLength) return std::nullopt;
    wire_length += label.size() + 1;
    if (wire_length > kDnsMaxNameLength) return std::nullopt;
    out.push_back(static_cast<uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
    if (name.empty()) return std::nullopt;  // "a..": the one trailing dot was already removed
  }
  out.push_back(0);
  put16(out, static_cast<uint16_t>(type));
  put16(out, kDnsClassIn);
  return out;
}

DnsParseError parse_dns_message(std::span<const uint8_t> data, DnsMessage& out) {
  out = DnsMessage{};
  Reader r(data);
  uint16_t flags = 0, qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  if (!r.u16(out.id) || !r.u16(flags) || !r.u16(qdcount) || !r.u16(ancount) || !r.u16(nscount) ||
      !r.u16(arcount)) {
    return DnsParseError::kShortMessage;
  }
  if ((flags & kFlagQr) == 0) return DnsParseError::kNotResponse;
  out.truncated = (flags & kFlagTc) != 0;
  out.authoritative = (flags & kFlagAa) != 0;
  out.rcode = static_cast<uint8_t>(flags & 0x0F);

  // Counts come from the wire: reserve nothing on their word, grow as records actually parse.
  for (uint16_t i = 0; i < qdcount; ++i) {
    DnsQuestion q;
    if (auto e = r.name(q.name); e != DnsParseError::kOk) return e;
    if (!r.u16(q.type) || !r.u16(q.klass)) return DnsParseError::kShortMessage;
    out.questions.push_back(std::move(q));
  }
  // A truncated answer is incomplete by definition (and its counts may exceed what is present):
  // the header and question are enough for the caller to match it and decide.
  if (out.truncated) return DnsParseError::kOk;

  for (uint16_t i = 0; i < ancount; ++i) {
    std::string owner;
    if (auto e = r.name(owner); e != DnsParseError::kOk) return e;
    uint16_t type = 0, klass = 0, rdlength = 0;
    uint32_t ttl = 0;
    if (!r.u16(type) || !r.u16(klass) || !r.u32(ttl) || !r.u16(rdlength)) return DnsParseError::kShortMessage;
    const size_t rdata = r.pos();
    if (data.size() - rdata < rdlength) return DnsParseError::kShortMessage;
    // RFC 2181 §8: a TTL with the top bit set is treated as zero.
    if (ttl > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) ttl = 0;
    if (klass == kDnsClassIn && (type == static_cast<uint16_t>(DnsType::kA) ||
                                 type == static_cast<uint16_t>(DnsType::kAaaa))) {
      const bool v4 = type == static_cast<uint16_t>(DnsType::kA);
      if (rdlength != (v4 ? 4 : 16)) return DnsParseError::kBadRdata;
      DnsRecord rec;
      rec.name = std::move(owner);
      rec.type = static_cast<DnsType>(type);
      rec.ttl = ttl;
      rec.address.family = v4 ? 4 : 6;
      std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(rdata), rdlength, rec.address.bytes.begin());
      out.answers.push_back(std::move(rec));
    } else if (klass == kDnsClassIn && type == static_cast<uint16_t>(DnsType::kCname)) {
      // The target is decoded against the whole message (it may point backwards), but its
      // in-place part must end exactly at the end of RDATA.
      Reader target_reader(data.first(rdata + rdlength));
      target_reader.skip(rdata);
      DnsRecord rec;
      if (auto e = target_reader.name(rec.target); e != DnsParseError::kOk) {
        return e == DnsParseError::kShortMessage ? DnsParseError::kBadRdata : e;
      }
      if (target_reader.pos() != rdata + rdlength) return DnsParseError::kBadRdata;
      rec.name = std::move(owner);
      rec.type = DnsType::kCname;
      rec.ttl = ttl;
      out.answers.push_back(std::move(rec));
    }
    r.skip(rdlength);
  }
  // Authority and additional sections carry nothing a stub resolver uses; they are not read.
  return DnsParseError::kOk;
}

bool dns_message_matches(const DnsMessage& message, uint16_t id, std::string_view name, DnsType type) {
  if (message.id != id || message.questions.size() != 1) return false;
  const DnsQuestion& q = message.questions.front();
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return q.type == static_cast<uint16_t>(type) && q.klass == kDnsClassIn && equal_names(q.name, name);
}

DnsAnswer extract_dns_answer(const DnsMessage& message, std::string_view name, DnsType type) {
  DnsAnswer answer;
  if (message.truncated) {
    answer.status = DnsAnswerStatus::kTruncated;
    return answer;
  }
  switch (static_cast<DnsRcode>(message.rcode)) {
    case DnsRcode::kNoError: break;
    case DnsRcode::kNxDomain: answer.status = DnsAnswerStatus::kNxDomain; return answer;
    case DnsRcode::kServFail: answer.status = DnsAnswerStatus::kServFail; return answer;
    default: answer.status = DnsAnswerStatus::kServerError; return answer;
  }
  std::string current = normalize_dns_name(name);
  uint32_t ttl = std::numeric_limits<uint32_t>::max();
  for (int hops = 0;; ++hops) {
    const DnsRecord* cname = nullptr;
    uint32_t address_ttl = std::numeric_limits<uint32_t>::max();
    for (const DnsRecord& rec : message.answers) {
      if (rec.name != current) continue;
      if (rec.type == type) {
        answer.addresses.push_back(rec.address);
        address_ttl = std::min(address_ttl, rec.ttl);
      } else if (rec.type == DnsType::kCname && cname == nullptr) {
        cname = &rec;
      }
    }
    if (!answer.addresses.empty()) {
      answer.status = DnsAnswerStatus::kOk;
      answer.ttl = std::min(ttl, address_ttl);
      std::sort(answer.addresses.begin(), answer.addresses.end());
      answer.addresses.erase(std::unique(answer.addresses.begin(), answer.addresses.end()),
                             answer.addresses.end());
      return answer;
    }
    if (cname == nullptr) {
      answer.status = DnsAnswerStatus::kNoData;
      return answer;
    }
    if (hops >= kDnsMaxCnameChain) {
      answer.status = DnsAnswerStatus::kBadCnameChain;
      return answer;
    }
    ttl = std::min(ttl, cname->ttl);
    current = cname->target;
  }
}

}  // namespace portico::net
