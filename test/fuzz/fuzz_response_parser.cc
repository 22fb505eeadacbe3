// libFuzzer target: an upstream byte stream of responses (interim 1xx heads, bodies framed by
// Content-Length, chunked or close), parsed one-shot and again fed in pieces whose size comes
// from the first input byte. Both runs must produce the same trace; every view must lie inside
// the buffer it came from; a parsed head re-serialised with head_writer must parse back the same.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "codec/http1/body_decoder.h"
#include "codec/http1/head_writer.h"
#include "codec/http1/response_parser.h"
#include "codec/http1/token.h"
#include "fuzz_support.h"

namespace {

using namespace portico::codec::http1;
using portico::fuzz::Feeder;
using portico::fuzz::within;

void check_head(const ResponseHead& head, std::string_view buf, size_t head_size, bool request_was_head) {
  FUZZ_CHECK(head_size <= buf.size());
  const std::string_view used = buf.substr(0, head_size);
  FUZZ_CHECK(head.status >= 100 && head.status <= 999);
  FUZZ_CHECK(within(head.reason, used));
  FUZZ_CHECK(head.version_minor <= 1);
  for (const Header& h : head.headers) {
    FUZZ_CHECK(within(h.name, used) && is_token(h.name));
    FUZZ_CHECK(within(h.value, used) && is_field_value(h.value));
  }
  for (std::string_view t : head.connection_tokens) FUZZ_CHECK(within(t, used) && is_token(t));
  const bool bodiless = request_was_head || head.status < 200 || head.status == 204 || head.status == 304;
  if (bodiless) FUZZ_CHECK(head.framing == Framing::kNone);
  if (head.framing == Framing::kUntilClose) FUZZ_CHECK(!head.keep_alive);
}

void append_head(std::string& trace, const ResponseHead& head, size_t head_size) {
  trace += "H " + std::to_string(head.status) + " [" + std::string(head.reason) + "]";
  trace += " v" + std::to_string(head.version_minor);
  trace += " f" + std::to_string(static_cast<int>(head.framing)) + " cl=" + std::to_string(head.content_length);
  trace += head.keep_alive ? " ka" : " close";
  trace += " size=" + std::to_string(head_size) + "\n";
  for (const Header& h : head.headers) trace.append(h.name).append(": ").append(h.value).append("\n");
  for (std::string_view t : head.connection_tokens) trace.append("token ").append(t).append("\n");
}

void check_round_trip(const ResponseHead& head, bool request_was_head) {
  std::string out;
  // An empty reason would be replaced by the standard phrase; compare everything else.
  write_status_line(out, head.status, head.reason, head.version_minor);
  for (const Header& h : head.headers) write_header(out, h.name, h.value);
  end_head(out);
  ResponseParser parser;
  ResponseHead again;
  FUZZ_CHECK(parser.parse(out, again, request_was_head) == ParseStatus::kComplete);
  FUZZ_CHECK(parser.head_size() == out.size());
  FUZZ_CHECK(again.status == head.status && again.version_minor == head.version_minor);
  FUZZ_CHECK(head.reason.empty() || again.reason == head.reason);
  FUZZ_CHECK(again.framing == head.framing && again.content_length == head.content_length);
  FUZZ_CHECK(again.keep_alive == head.keep_alive);
  FUZZ_CHECK(again.headers.size() == head.headers.size());
  for (size_t i = 0; i < head.headers.size(); ++i) {
    FUZZ_CHECK(again.headers[i].name == head.headers[i].name);
    FUZZ_CHECK(again.headers[i].value == head.headers[i].value);
  }
}

std::string run(std::string_view input, size_t piece, const Limits& limits, bool request_was_head, bool round_trip) {
  std::string trace;
  Feeder feeder(input, piece);
  ResponseParser parser(limits);
  ResponseHead head;
  BodyDecoder body;
  bool in_body = false;
  std::string body_data;
  while (feeder.feed()) {
    for (;;) {
      const std::string_view buf = feeder.view();
      if (!in_body) {
        const ParseStatus s = parser.parse(buf, head, request_was_head);
        if (s == ParseStatus::kNeedMore) break;
        if (s == ParseStatus::kError) {
          FUZZ_CHECK(parser.error() != ParseError::kNone);
          trace += "E " + std::string(describe(parser.error())) + "\n";
          return trace;
        }
        check_head(head, buf, parser.head_size(), request_was_head);
        FUZZ_CHECK(parser.parse(buf, head, request_was_head) == ParseStatus::kComplete);
        append_head(trace, head, parser.head_size());
        if (round_trip) check_round_trip(head, request_was_head);
        feeder.consume(parser.head_size());
        parser.reset();
        if (head.status == 101) {
          trace += "UPGRADE\n";  // the rest of the stream is another protocol
          return trace;
        }
        body.start(head.framing, head.content_length, limits);
        in_body = true;
        body_data.clear();
        continue;
      }
      const BodyDecoder::Step step = body.decode(buf);
      FUZZ_CHECK(step.consumed <= buf.size());
      FUZZ_CHECK(within(step.data, buf.substr(0, step.consumed)));
      FUZZ_CHECK(within(step.trailers, buf.substr(0, step.consumed)));
      body_data.append(step.data);
      FUZZ_CHECK(body_data.size() <= feeder.input_size());
      FUZZ_CHECK(body.body_bytes() == body_data.size());
      feeder.consume(step.consumed);
      if (step.error != ParseError::kNone) {
        trace += "BODY " + body_data + "\nE " + std::string(describe(step.error)) + "\n";
        return trace;
      }
      if (step.done) {
        trace += "BODY " + body_data + "\nTRAILERS " + std::string(step.trailers) + "\n";
        in_body = false;
        continue;
      }
      if (step.consumed == 0 && step.data.empty()) break;
    }
  }
  if (in_body) {
    const bool complete = body.finish_eof();
    FUZZ_CHECK(complete == (head.framing == Framing::kUntilClose));
    trace += (complete ? "EOF BODY " : "TRUNCATED BODY ") + body_data + "\n";
  } else {
    trace += "END\n";
  }
  return trace;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte: bits 0-5 piece size (1-64), bit 6 "the request was HEAD", bit 7 small limits.
  const uint8_t control = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  Limits limits;
  if (control & 0x80) {
    limits.max_head_bytes = 200;
    limits.max_headers = 6;
  }
  const bool request_was_head = (control & 0x40) != 0;
  // At most ~128 pieces per input: each call copies the pending bytes into a fresh buffer, so
  // byte-sized pieces over a 4 KiB input would spend the run in memcpy. Boundaries still land on
  // every offset across inputs.
  const size_t piece = std::max<size_t>((control & 0x3f) + 1, input.size() / 128);
  const std::string whole = run(input, input.size(), limits, request_was_head, /*round_trip=*/true);
  const std::string pieces = run(input, piece, limits, request_was_head, /*round_trip=*/false);
  if (whole != pieces) {
    std::fprintf(stderr, "one-shot:\n%s\nin pieces of %zu:\n%s\n", whole.c_str(), piece, pieces.c_str());
    std::abort();
  }
  return 0;
}
