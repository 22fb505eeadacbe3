#include "filter/log_fields.h"

#include <fmt/format.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <ctime>
#include <iterator>

#include "observability/access_log.h"

namespace portico::filter {

namespace {

using Var = LogFields::Var;

struct VarName {
  std::string_view name;
  Var var;
};

constexpr VarName kVariables[] = {
    {"time", Var::kTime},
    {"started_at", Var::kStartedAt},
    {"client_ip", Var::kClientIp},
    {"client_port", Var::kClientPort},
    {"method", Var::kMethod},
    {"path", Var::kPath},
    {"query", Var::kQuery},
    {"uri", Var::kUri},
    {"host", Var::kHost},
    {"scheme", Var::kScheme},
    {"status", Var::kStatus},
    {"bytes_sent", Var::kBytesSent},
    {"bytes_received", Var::kBytesReceived},
    {"route", Var::kRoute},
    {"service", Var::kService},
    {"consumer", Var::kConsumer},
    {"credential", Var::kCredential},
    {"upstream", Var::kUpstream},
    {"attempts", Var::kAttempts},
    {"latency_ms", Var::kLatencyMs},
    {"gateway_ms", Var::kGatewayMs},
    {"filter_ms", Var::kFilterMs},
    {"request_filters_ms", Var::kRequestFiltersMs},
    {"response_filters_ms", Var::kResponseFiltersMs},
    {"connect_ms", Var::kConnectMs},
    {"upstream_ms", Var::kUpstreamMs},
    {"receive_ms", Var::kReceiveMs},
    {"request_id", Var::kRequestId},
};
constexpr std::string_view kRequestHeaderPrefix = "header.";
constexpr std::string_view kResponseHeaderPrefix = "response_header.";

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_header_char(char c) {
  // RFC 9110 token characters.
  if (is_name_char(c)) return true;
  return std::string_view("!#$%&'*+-.^`|~").find(c) != std::string_view::npos;
}

bool is_number(Var v) {
  switch (v) {
    case Var::kStartedAt:
    case Var::kClientPort:
    case Var::kStatus:
    case Var::kBytesSent:
    case Var::kBytesReceived:
    case Var::kAttempts:
    case Var::kLatencyMs:
    case Var::kGatewayMs:
    case Var::kFilterMs:
    case Var::kRequestFiltersMs:
    case Var::kResponseFiltersMs:
    case Var::kConnectMs:
    case Var::kUpstreamMs:
    case Var::kReceiveMs:
      return true;
    default:
      return false;
  }
}

// The line is written through a raw cursor into a per-thread scratch buffer (which only ever
// grows), then appended to `out` in one copy: one capacity check per value instead of one per
// append, and no zero-filling (this runs for every field of every logged request).
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {
    if (scratch().size() < 1024) scratch().resize(1024);
    p_ = scratch().data();
    end_ = p_ + scratch().size();
  }
  ~Writer() { out_.append(scratch().data(), size()); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void need(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) [[unlikely]] grow(n);
  }
  [[gnu::noinline]] void grow(size_t n) {
    const size_t at = size();
    scratch().resize(std::max(scratch().size() * 2, at + n + 1024));
    p_ = scratch().data() + at;
    end_ = scratch().data() + scratch().size();
  }
  void put(char c) {
    need(1);
    *p_++ = c;
  }
  void put(std::string_view s) {
    need(s.size());
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  // A std::string's text with one fixed 16-byte copy when it is short: a short std::string keeps
  // its text in its own 16-byte buffer, so the copy reads nothing outside the object; the cursor
  // then moves by the real size.
  void put_short(const std::string& s) {
    need(s.size() + 16);
    if (s.size() < 16) {
      __builtin_memcpy(p_, s.data(), 16);
    } else {
      std::memcpy(p_, s.data(), s.size());
    }
    p_ += s.size();
  }
  // JSON string contents (no quotes): runs of plain bytes copied at once, the rest escaped.
  void escaped(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    need(s.size() * 6);
    if (s.size() <= 64) {
      // Short values (nearly all): byte by byte, no call.
      for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (kJsonPlain[u]) [[likely]] {
          *p_++ = c;
        } else if (u == '"' || u == '\\') {
          *p_++ = '\\';
          *p_++ = c;
        } else {
          const char esc[6] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 15]};
          std::memcpy(p_, esc, 6);
          p_ += 6;
        }
      }
      return;
    }
    const char* in = s.data();
    const char* const stop = in + s.size();
    while (in < stop) {
      const char* run = in;
      while (run < stop && kJsonPlain[static_cast<unsigned char>(*run)]) ++run;
      std::memcpy(p_, in, static_cast<size_t>(run - in));
      p_ += run - in;
      if (run == stop) break;
      const auto u = static_cast<unsigned char>(*run);
      if (u == '"' || u == '\\') {
        *p_++ = '\\';
        *p_++ = static_cast<char>(u);
      } else {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 15]};
        std::memcpy(p_, esc, 6);
        p_ += 6;
      }
      in = run + 1;
    }
  }
  void number(uint64_t n) {
    need(20);
    p_ = std::to_chars(p_, p_ + 20, n).ptr;
  }
  // Milliseconds with exactly three decimals (microseconds), like "{:.3f}" for the values logged
  // (non-negative, far below 2^53 µs).
  void millis(double ms) {
    const uint64_t us = ms > 0 ? static_cast<uint64_t>(ms * 1000.0 + 0.5) : 0;
    number(us / 1000);
    need(4);
    const auto frac = static_cast<unsigned>(us % 1000);
    p_[0] = '.';
    p_[1] = static_cast<char>('0' + frac / 100);
    p_[2] = static_cast<char>('0' + frac / 10 % 10);
    p_[3] = static_cast<char>('0' + frac % 10);
    p_ += 4;
  }
  // "YYYY-MM-DDTHH:MM:SS.mmmZ"; the part up to the seconds is formatted once per second per thread.
  void time() {
    thread_local time_t cached_second = -1;
    thread_local char cached[20];  // "YYYY-MM-DDTHH:MM:SS"
    timeval tv;
    gettimeofday(&tv, nullptr);
    if (tv.tv_sec != cached_second) {
      tm utc;
      gmtime_r(&tv.tv_sec, &utc);
      fmt::format_to_n(cached, sizeof cached, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", utc.tm_year + 1900, utc.tm_mon + 1,
                       utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
      cached_second = tv.tv_sec;
    }
    put(std::string_view(cached, 19));
    need(5);
    const auto ms = static_cast<unsigned>(tv.tv_usec / 1000);
    p_[0] = '.';
    p_[1] = static_cast<char>('0' + ms / 100);
    p_[2] = static_cast<char>('0' + ms / 10 % 10);
    p_[3] = static_cast<char>('0' + ms % 10);
    p_[4] = 'Z';
    p_ += 5;
  }
  size_t size() const { return static_cast<size_t>(p_ - scratch().data()); }
  void truncate(size_t size) { p_ = scratch().data() + size; }

 private:
  // Bytes that go into a JSON string as they are: printable ASCII but '"' and '\\', and UTF-8.
  static constexpr auto kJsonPlain = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c) t[static_cast<size_t>(c)] = c >= 0x20 && c != 0x7f && c != '"' && c != '\\';
    return t;
  }();

  static std::vector<char>& scratch() {
    thread_local std::vector<char> buffer;
    return buffer;
  }

  std::string& out_;
  char* p_ = nullptr;
  char* end_ = nullptr;
};

}  // namespace

uint64_t LogFields::started_at_ms(const Timings& t) {
  timeval tv;
  gettimeofday(&tv, nullptr);
  const double now_ms = static_cast<double>(tv.tv_sec) * 1000.0 + static_cast<double>(tv.tv_usec) / 1000.0;
  const double ago = t.start.time_since_epoch().count() > 0 ? core::ms_between(t.start, core::MonoClock::now()) : 0.0;
  return static_cast<uint64_t>(now_ms - ago);
}

namespace {

// Writes the variable's text (no JSON quoting) or number; `quoted` strings are escaped for
// JSON. Returns false when the value is absent (a header that is not there).
[[gnu::always_inline]] inline bool write_var(const Exchange& x, const Latencies& l, Var v, std::string_view header,
                                             bool quoted, Writer& w) {
  auto text = [&](std::string_view s) {
    if (quoted) {
      w.escaped(s);  // the caller writes the quotes
    } else {
      w.put(s);
    }
  };
  auto number = [&](uint64_t n) { w.number(n); };
  auto millis = [&](double ms) { w.millis(ms); };
  switch (v) {
    case Var::kTime: w.time(); return true;
    case Var::kStartedAt: number(LogFields::started_at_ms(x.timings)); return true;
    case Var::kClientIp: text(x.request.client_ip); return true;
    case Var::kClientPort: number(x.request.client_port); return true;
    case Var::kMethod: text(x.request.method); return true;
    case Var::kPath: text(x.request.path); return true;
    case Var::kQuery: text(x.request.query); return true;
    case Var::kUri:
      text(x.request.path);
      if (x.request.has_query) {
        w.put('?');
        text(x.request.query);
      }
      return true;
    case Var::kHost: text(x.request.host); return true;
    case Var::kScheme: text(x.request.scheme); return true;
    case Var::kStatus: number(x.status_sent); return true;
    case Var::kBytesSent: number(x.bytes_sent); return true;
    case Var::kBytesReceived: number(x.bytes_received); return true;
    case Var::kRoute: text(x.route_name); return true;
    case Var::kService: text(x.service_name); return true;
    case Var::kConsumer: text(x.consumer_id); return true;
    case Var::kCredential: text(x.credential_id); return true;
    case Var::kUpstream: text(x.upstream_address); return true;
    case Var::kAttempts: number(x.upstream_attempts); return true;
    case Var::kLatencyMs: millis(l.total); return true;
    case Var::kGatewayMs: millis(l.gateway); return true;
    case Var::kFilterMs: millis(x.timings.filter_ms); return true;
    case Var::kConnectMs: millis(l.connect); return true;
    case Var::kUpstreamMs: millis(l.upstream); return true;
    case Var::kReceiveMs: millis(l.receive); return true;
    case Var::kRequestFiltersMs: millis(x.timings.request_filters_ms); return true;
    case Var::kResponseFiltersMs: millis(x.timings.response_filters_ms); return true;
    case Var::kRequestId: text(x.request.request_id); return true;
    case Var::kRequestHeader:
    case Var::kResponseHeader: {
      const auto& headers = v == Var::kRequestHeader ? x.request.headers : x.response.headers;
      auto value = headers.get(header);
      if (!value) return false;
      text(*value);
      return true;
    }
  }
  return false;
}

}  // namespace

std::string LogFields::add(std::string_view key, std::string_view t) {
  if (key.empty()) return "field names must not be empty";
  Field f;
  observability::append_json_string(f.key, key);
  std::string literal;
  auto flush_literal = [&] {
    if (literal.empty()) return;
    Piece p;
    p.text = std::move(literal);
    f.pieces.push_back(std::move(p));
    literal.clear();
  };
  for (size_t i = 0; i < t.size();) {
    if (t[i] != '$') {
      literal += t[i++];
      continue;
    }
    if (i + 1 < t.size() && t[i + 1] == '$') {
      literal += '$';
      i += 2;
      continue;
    }
    std::string_view name;
    if (i + 1 < t.size() && t[i + 1] == '{') {
      size_t close = t.find('}', i + 2);
      if (close == std::string_view::npos) return "unclosed \"${\" in \"" + std::string(t) + "\"";
      name = t.substr(i + 2, close - i - 2);
      i = close + 1;
    } else {
      size_t end = i + 1;
      // `$header.x-name` runs over header characters; a plain `$name` over [A-Za-z0-9_].
      while (end < t.size() && is_name_char(t[end])) ++end;
      std::string_view head = t.substr(i + 1, end - i - 1);
      if ((head == "header" || head == "response_header") && end < t.size() && t[end] == '.') {
        ++end;
        while (end < t.size() && is_header_char(t[end])) ++end;
      }
      name = t.substr(i + 1, end - i - 1);
      i = end;
    }
    if (name.empty()) return "\"$\" must be followed by a variable name (write \"$$\" for a dollar sign)";
    Piece p;
    p.is_var = true;
    bool found = false;
    for (const auto& [n, v] : kVariables) {
      if (n == name) {
        p.var = v;
        found = true;
      }
    }
    for (auto [prefix, v] : {std::pair{kRequestHeaderPrefix, Var::kRequestHeader},
                             std::pair{kResponseHeaderPrefix, Var::kResponseHeader}}) {
      if (!found && name.starts_with(prefix)) {
        std::string_view header = name.substr(prefix.size());
        if (header.empty()) return "\"" + std::string(prefix) + "\" needs a header name";
        for (char c : header) {
          if (!is_header_char(c)) return "\"" + std::string(header) + "\" is not a valid header name";
        }
        p.var = v;
        p.text = std::string(header);
        found = true;
      }
    }
    if (!found) {
      std::string known;
      for (auto n : variable_names()) known += (known.empty() ? "" : ", ") + std::string(n);
      return "unknown variable \"" + std::string(name) + "\"; expected one of " + known +
             ", header.<name>, response_header.<name>";
    }
    flush_literal();
    f.pieces.push_back(std::move(p));
  }
  flush_literal();
  const bool single = f.pieces.size() == 1 && f.pieces[0].is_var;
  f.kind = single && is_number(f.pieces[0].var) ? Kind::kNumber : single ? Kind::kString : Kind::kTemplate;
  f.prefix = "," + f.key + ":" + (f.kind == Kind::kNumber ? "" : "\"");
  fields_.push_back(std::move(f));
  return {};
}

bool LogFields::read(const core::ConfigNode& map, const std::string& path, core::ConfigErrors& errors) {
  bool ok = true;
  for (size_t i = 0; i < map.size(); ++i) {
    const std::string& key = map.key(i);
    const core::ConfigNode& value = map[i];
    const std::string item_path = path + "." + key;
    if (!value.is_scalar()) {
      errors.add(value, item_path, "expected a template string (e.g. \"$status\" or \"${header.user-agent}\")");
      ok = false;
      continue;
    }
    if (has_key(key)) {
      errors.add(value, item_path, "field \"" + key + "\" is given twice");
      ok = false;
      continue;
    }
    if (std::string e = add(key, value.scalar()); !e.empty()) {
      errors.add(value, item_path, std::move(e));
      ok = false;
    }
  }
  return ok;
}

bool LogFields::has_key(std::string_view key) const {
  std::string quoted;
  observability::append_json_string(quoted, key);
  for (const Field& f : fields_) {
    if (f.key == quoted) return true;
  }
  return false;
}

void LogFields::append_members(const Exchange& x, std::string& out) const {
  const Latencies l = latencies_of(x.timings);
  Writer w(out);
  for (const Field& f : fields_) {
    const size_t mark = w.size();
    w.put_short(f.prefix);
    if (f.kind == Kind::kNumber) {
      write_var(x, l, f.pieces[0].var, f.pieces[0].text, false, w);
      continue;
    }
    if (f.kind == Kind::kString) {
      const Piece& p = f.pieces[0];
      if (!write_var(x, l, p.var, p.text, true, w)) {
        w.truncate(mark + f.prefix.size() - 1);  // drop the opening quote
        w.put(std::string_view("null"));
        continue;
      }
      w.put('"');
      continue;
    }
    for (const Piece& p : f.pieces) {
      if (!p.is_var) {
        w.escaped(p.text);
        continue;
      }
      write_var(x, l, p.var, p.text, true, w);  // an absent header adds nothing
    }
    w.put('"');
  }
}

void LogFields::append_object(const Exchange& x, std::string& out) const {
  const size_t open = out.size();
  append_members(x, out);
  if (out.size() > open) {
    out[open] = '{';  // the first member's comma becomes the brace
  } else {
    out += '{';
  }
  out += '}';
}

const LogFields& LogFields::access_log_default() {
  static const LogFields fields = [] {
    LogFields f;
    for (auto [key, t] : {std::pair{"time", "$time"}, {"client", "$client_ip"}, {"method", "$method"},
                          {"path", "$path"}, {"status", "$status"}, {"bytes_sent", "$bytes_sent"},
                          {"bytes_received", "$bytes_received"}, {"route", "$route"}, {"service", "$service"},
                          {"upstream", "$upstream"}, {"attempts", "$attempts"}, {"latency_ms", "$latency_ms"},
                          {"gateway_ms", "$gateway_ms"}, {"filter_ms", "$filter_ms"}, {"connect_ms", "$connect_ms"},
                          {"upstream_ms", "$upstream_ms"}, {"request_id", "$request_id"}}) {
      f.add(key, t);
    }
    return f;
  }();
  return fields;
}

std::vector<std::string_view> LogFields::variable_names() {
  std::vector<std::string_view> out;
  for (const auto& v : kVariables) out.push_back(v.name);
  return out;
}

}  // namespace portico::filter
