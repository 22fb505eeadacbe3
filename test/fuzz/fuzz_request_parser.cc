// libFuzzer target: a client byte stream of pipelined requests with bodies, parsed one-shot and
// again fed in pieces whose size comes from the first input byte. Both runs must produce the
// same trace; every view must lie inside the buffer it came from; a parsed head re-serialised
// with head_writer must parse back to the same head.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "codec/http1/body_decoder.h"
#include "codec/http1/head_writer.h"
#include "codec/http1/token.h"
#include "codec/http1/request_parser.h"
#include "fuzz_support.h"

namespace {

using namespace portico::codec::http1;
using portico::fuzz::Feeder;
using portico::fuzz::within;

void check_head(const RequestHead& head, std::string_view buf, size_t head_size) {
  FUZZ_CHECK(head_size <= buf.size());
  const std::string_view used = buf.substr(0, head_size);
  FUZZ_CHECK(within(head.method, used) && !head.method.empty());
  FUZZ_CHECK(within(head.target, used) && !head.target.empty());
  FUZZ_CHECK(within(head.host, used));
  FUZZ_CHECK(head.version_minor <= 1);
  FUZZ_CHECK(head.framing != Framing::kUntilClose);
  for (const Header& h : head.headers) {
    FUZZ_CHECK(within(h.name, used) && is_token(h.name));
    FUZZ_CHECK(within(h.value, used) && is_field_value(h.value));
  }
  for (std::string_view t : head.connection_tokens) FUZZ_CHECK(within(t, used) && is_token(t));
}

void append_head(std::string& trace, const RequestHead& head, size_t head_size) {
  trace += "H ";
  trace.append(head.method).append(" ").append(head.target);
  trace += " v" + std::to_string(head.version_minor) + " host=" + std::string(head.host);
  trace += " f" + std::to_string(static_cast<int>(head.framing)) + " cl=" + std::to_string(head.content_length);
  trace += head.keep_alive ? " ka" : " close";
  trace += head.expect_continue ? " 100" : "";
  trace += head.unknown_expect ? " expect?" : "";
  trace += head.has_upgrade ? " upgrade" : "";
  trace += " size=" + std::to_string(head_size) + "\n";
  for (const Header& h : head.headers) trace.append(h.name).append(": ").append(h.value).append("\n");
  for (std::string_view t : head.connection_tokens) trace.append("token ").append(t).append("\n");
}

// Writes the parsed head back out and parses it again: what we accept, we must be able to emit,
// and emitting must not change its meaning.
void check_round_trip(const RequestHead& head) {
  std::string out;
  write_request_line(out, head.method, head.target, head.version_minor);
  for (const Header& h : head.headers) write_header(out, h.name, h.value);
  end_head(out);
  RequestParser parser;
  RequestHead again;
  FUZZ_CHECK(parser.parse(out, again) == ParseStatus::kComplete);
  FUZZ_CHECK(parser.head_size() == out.size());
  FUZZ_CHECK(again.method == head.method && again.target == head.target);
  FUZZ_CHECK(again.version_minor == head.version_minor && again.host == head.host);
  FUZZ_CHECK(again.framing == head.framing && again.content_length == head.content_length);
  FUZZ_CHECK(again.keep_alive == head.keep_alive && again.has_upgrade == head.has_upgrade);
  FUZZ_CHECK(again.expect_continue == head.expect_continue);
  FUZZ_CHECK(again.headers.size() == head.headers.size());
  for (size_t i = 0; i < head.headers.size(); ++i) {
    FUZZ_CHECK(again.headers[i].name == head.headers[i].name);
    FUZZ_CHECK(again.headers[i].value == head.headers[i].value);
  }
}

// Runs a server-side session over `input`, `piece` bytes at a time; returns what it saw.
std::string run(std::string_view input, size_t piece, const Limits& limits, bool round_trip) {
  std::string trace;
  Feeder feeder(input, piece);
  RequestParser parser(limits);
  RequestHead head;
  BodyDecoder body;
  bool in_body = false;
  std::string body_data;
  uint64_t total_body = 0;
  while (feeder.feed()) {
    for (;;) {
      const std::string_view buf = feeder.view();
      if (!in_body) {
        const ParseStatus s = parser.parse(buf, head);
        if (s == ParseStatus::kNeedMore) break;
        if (s == ParseStatus::kError) {
          FUZZ_CHECK(parser.error() != ParseError::kNone);
          const int status = status_for(parser.error());
          FUZZ_CHECK(status == 400 || status == 414 || status == 431 || status == 505);
          trace += "E " + std::string(describe(parser.error())) + "\n";
          return trace;
        }
        check_head(head, buf, parser.head_size());
        FUZZ_CHECK(parser.parse(buf, head) == ParseStatus::kComplete);  // sticky
        append_head(trace, head, parser.head_size());
        if (round_trip) check_round_trip(head);
        feeder.consume(parser.head_size());
        parser.reset();
        body.start(head.framing, head.content_length, limits);
        in_body = true;
        body_data.clear();
        continue;
      }
      const BodyDecoder::Step step = body.decode(buf);
      FUZZ_CHECK(step.consumed <= buf.size());
      FUZZ_CHECK(within(step.data, buf.substr(0, step.consumed)));
      FUZZ_CHECK(within(step.trailers, buf.substr(0, step.consumed)));
      FUZZ_CHECK(step.trailers.empty() || step.done);
      body_data.append(step.data);
      total_body += step.data.size();
      FUZZ_CHECK(total_body <= feeder.input_size());
      FUZZ_CHECK(body.body_bytes() == body_data.size());
      feeder.consume(step.consumed);
      if (step.error != ParseError::kNone) {
        FUZZ_CHECK(!step.done);
        trace += "BODY " + body_data + "\nE " + std::string(describe(step.error)) + "\n";
        return trace;
      }
      if (step.done) {
        FUZZ_CHECK(body.done());
        if (head.framing == Framing::kContentLength) FUZZ_CHECK(body_data.size() == head.content_length);
        trace += "BODY " + body_data + "\nTRAILERS " + std::string(step.trailers) + "\n";
        in_body = false;
        continue;
      }
      if (step.consumed == 0 && step.data.empty()) break;
    }
  }
  trace += in_body ? "END in body: " + body_data + "\n" : "END\n";
  return trace;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte: bits 0-5 choose the piece size (1-64), bit 7 small limits so the 414/431
  // paths are reachable with small inputs.
  const uint8_t control = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  Limits limits;
  if (control & 0x80) {
    limits.max_head_bytes = 200;
    limits.max_headers = 6;
    limits.max_uri_bytes = 32;
  }
  // At most ~128 pieces per input: each call copies the pending bytes into a fresh buffer, so
  // byte-sized pieces over a 4 KiB input would spend the run in memcpy. Boundaries still land on
  // every offset across inputs.
  const size_t piece = std::max<size_t>((control & 0x3f) + 1, input.size() / 128);
  const std::string whole = run(input, input.size(), limits, /*round_trip=*/true);
  const std::string pieces = run(input, piece, limits, /*round_trip=*/false);
  if (whole != pieces) {
    std::fprintf(stderr, "one-shot:\n%s\nin pieces of %zu:\n%s\n", whole.c_str(), piece, pieces.c_str());
    std::abort();
  }
  return 0;
}
