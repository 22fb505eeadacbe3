// W3C Trace Context: traceparent and tracestate tables (the spec's own examples among them), id
// generation and the TraceIdRatioBased sampling decision.
#include "observability/trace_context.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace portico::observability {
namespace {

constexpr const char* kSpecExample = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

struct ParentCase {
  const char* name;
  std::string value;
  bool valid;
};

class TraceparentTable : public ::testing::TestWithParam<ParentCase> {};

TEST_P(TraceparentTable, Parses) {
  auto parsed = parse_traceparent(GetParam().value);
  EXPECT_EQ(parsed.has_value(), GetParam().valid) << GetParam().value;
}

INSTANTIATE_TEST_SUITE_P(
    W3C, TraceparentTable,
    ::testing::Values(
        ParentCase{"SpecSampled", kSpecExample, true},
        ParentCase{"SpecNotSampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true},
        ParentCase{"OtherFlagsKept", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09", true},
        ParentCase{"VersionFF", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
        ParentCase{"UpperCaseTraceId", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false},
        ParentCase{"UpperCaseParentId", "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", false},
        ParentCase{"UpperCaseVersion", "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
        ParentCase{"ZeroTraceId", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
        ParentCase{"ZeroParentId", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false},
        ParentCase{"Version00TooLong", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", false},
        ParentCase{"Version00TrailingSpace", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ", false},
        ParentCase{"FutureVersionExact", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
        ParentCase{"FutureVersionMoreFields",
                   "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like", true},
        ParentCase{"FutureVersionNoDash", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", false},
        ParentCase{"FutureVersionZeroId", "01-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
        ParentCase{"TooShort", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1", false},
        ParentCase{"ShortTraceId", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", false},
        ParentCase{"WrongSeparator", "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
        ParentCase{"NonHexTraceId", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", false},
        ParentCase{"NonHexFlags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x", false},
        ParentCase{"NonHexVersion", "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
        ParentCase{"Empty", "", false},
        ParentCase{"LeadingSpace", " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Traceparent, FieldsAndRoundTrip) {
  auto tp = parse_traceparent(kSpecExample);
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->version, 0);
  EXPECT_EQ(to_hex(tp->trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(to_hex(tp->parent_id), "00f067aa0ba902b7");
  EXPECT_TRUE(tp->sampled());
  EXPECT_EQ(format_traceparent(tp->trace_id, tp->parent_id, true), kSpecExample);
  EXPECT_EQ(format_traceparent(tp->trace_id, tp->parent_id, false),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
}

// Every byte value, at every position of both ids, formats as lower-case hex and parses back.
TEST(Traceparent, EveryByteValueRoundTrips) {
  for (int first = 0; first < 256; first += 24) {
    TraceId trace{};
    SpanId span{};
    for (size_t i = 0; i < trace.size(); ++i) trace[i] = static_cast<uint8_t>(first + 17 * i);
    for (size_t i = 0; i < span.size(); ++i) span[i] = static_cast<uint8_t>(255 - first - 31 * i);
    trace[15] |= 1;  // never all-zero
    span[7] |= 1;
    const std::string text = format_traceparent(trace, span, first % 2 == 0);
    EXPECT_EQ(text, "00-" + to_hex(trace) + "-" + to_hex(span) + (first % 2 == 0 ? "-01" : "-00"));
    auto tp = parse_traceparent(text);
    ASSERT_TRUE(tp) << text;
    EXPECT_EQ(tp->trace_id, trace);
    EXPECT_EQ(tp->parent_id, span);
  }
  for (int b = 0; b < 256; ++b) {
    TraceId trace;
    SpanId span;
    trace.fill(static_cast<uint8_t>(b | 1));
    span.fill(static_cast<uint8_t>(b | 1));
    const std::string text = format_traceparent(trace, span, true);
    EXPECT_EQ(text.substr(3, 32), to_hex(trace));
    EXPECT_EQ(text.substr(36, 16), to_hex(span));
  }
}

TEST(Traceparent, FutureVersionIsForwardedAsVersion00) {
  auto tp = parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-extra");
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->version, 1);
  EXPECT_TRUE(tp->sampled());
  EXPECT_EQ(format_traceparent(tp->trace_id, tp->parent_id, tp->sampled()),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

struct StateCase {
  const char* name;
  std::string value;
  bool valid;
};

class TracestateTable : public ::testing::TestWithParam<StateCase> {};

TEST_P(TracestateTable, Validates) {
  EXPECT_EQ(valid_tracestate(GetParam().value), GetParam().valid) << GetParam().value;
}

std::string members(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i) out += ',';
    out += "k" + std::to_string(i) + "=v";
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    W3C, TracestateTable,
    ::testing::Values(
        StateCase{"SpecSingle", "rojo=00f067aa0ba902b7", true},
        StateCase{"SpecTwo", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", true},
        StateCase{"OptionalWhitespace", "rojo=00f067aa0ba902b7 ,\tcongo=t61rcWkgMzE ", true},
        StateCase{"EmptyHeader", "", true},
        StateCase{"EmptyMembers", "a=1,, ,b=2", true},
        StateCase{"MultiTenant", "fw529a3039@dt=a,1tenant@sys=b", true},
        StateCase{"ValueWithInnerSpace", "a=b c", true},
        StateCase{"ValuePunctuation", "a=!\"#$%&'()*+-./:;<>?@[]^_`{|}~", true},
        StateCase{"KeyChars", "a_b-c*d/e9=x", true},
        StateCase{"ThirtyTwoMembers", members(32), true},
        StateCase{"ThirtyThreeMembers", members(33), false},
        StateCase{"UpperCaseKey", "Rojo=1", false},
        StateCase{"KeyStartsWithDigit", "1abc=x", false},
        StateCase{"NoEquals", "rojo", false},
        StateCase{"EmptyValue", "rojo=", false},
        StateCase{"EmptyKey", "=x", false},
        StateCase{"DuplicateKey", "a=1,b=2,a=3", false},
        StateCase{"EqualsInValue", "a=b=c", false},
        StateCase{"CommaOnlyInValueSplits", "a=b,c", false},
        StateCase{"ControlCharInValue", std::string("a=b\x01") + "c", false},
        StateCase{"NonAsciiValue", "a=caf\xc3\xa9", false},
        StateCase{"KeyOf256", "a" + std::string(255, 'b') + "=x", true},
        StateCase{"KeyOf257", "a" + std::string(256, 'b') + "=x", false},
        StateCase{"ValueOf256", "a=" + std::string(256, 'v'), true},
        StateCase{"ValueOf257", "a=" + std::string(257, 'v'), false},
        StateCase{"SystemIdOf14", "t@" + std::string(14, 's') + "=x", true},
        StateCase{"SystemIdOf15", "t@" + std::string(15, 's') + "=x", false},
        StateCase{"SystemIdStartsWithDigit", "t@1s=x", false},
        StateCase{"TwoAts", "a@b@c=x", false},
        StateCase{"EmptyTenant", "@sys=x", false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Ids, NeverZeroAndDistinct) {
  std::set<std::string> traces, spans;
  for (int i = 0; i < 10000; ++i) {
    TraceId t = new_trace_id();
    SpanId s = new_span_id();
    EXPECT_FALSE(is_zero(t));
    EXPECT_FALSE(is_zero(s));
    traces.insert(to_hex(t));
    spans.insert(to_hex(s));
  }
  EXPECT_EQ(traces.size(), 10000u);
  EXPECT_EQ(spans.size(), 10000u);
}

TEST(Ids, ThreadsDrawDifferentStreams) {
  std::vector<std::string> a, b;
  std::thread ta([&] { for (int i = 0; i < 100; ++i) a.push_back(to_hex(new_trace_id())); });
  std::thread tb([&] { for (int i = 0; i < 100; ++i) b.push_back(to_hex(new_trace_id())); });
  ta.join();
  tb.join();
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 200u);
}

TraceId id_with_low_bits(uint64_t low) {
  TraceId id{};
  id[0] = 1;
  for (int i = 0; i < 8; ++i) id[15 - i] = static_cast<uint8_t>(low >> (8 * i));
  return id;
}

TEST(Sampling, ExtremesAndBoundaries) {
  EXPECT_EQ(sampling_threshold(0), 0u);
  EXPECT_EQ(sampling_threshold(-1), 0u);
  EXPECT_EQ(sampling_threshold(1), uint64_t{1} << 63);
  EXPECT_EQ(sampling_threshold(0.5), uint64_t{1} << 62);
  EXPECT_TRUE(sample_trace(id_with_low_bits(~uint64_t{0}), sampling_threshold(1)));
  EXPECT_FALSE(sample_trace(id_with_low_bits(0), sampling_threshold(0)));
  EXPECT_TRUE(sample_trace(id_with_low_bits(0), sampling_threshold(1e-9)));
  // 0.5: (low >> 1) < 2^62 ⇔ low < 2^63.
  EXPECT_TRUE(sample_trace(id_with_low_bits((uint64_t{1} << 63) - 1), sampling_threshold(0.5)));
  EXPECT_FALSE(sample_trace(id_with_low_bits(uint64_t{1} << 63), sampling_threshold(0.5)));
}

TEST(Sampling, RatioHoldsStatisticallyAndIsDeterministic) {
  for (double ratio : {0.01, 0.25, 0.5, 0.9}) {
    uint64_t threshold = sampling_threshold(ratio);
    int sampled = 0;
    constexpr int kN = 200000;
    for (int i = 0; i < kN; ++i) {
      TraceId id = new_trace_id();
      bool s = sample_trace(id, threshold);
      if (s) ++sampled;
      if (i % 1000 == 0) EXPECT_EQ(sample_trace(id, threshold), s);  // same id, same answer
    }
    double observed = static_cast<double>(sampled) / kN;
    // Binomial standard deviation ≤ 0.0012 here; 5 sigma.
    EXPECT_NEAR(observed, ratio, 0.006) << "ratio " << ratio;
  }
}

TEST(Sampling, ParentDecisionWins) {
  TraceId id = id_with_low_bits(~uint64_t{0});  // never sampled by a ratio < 1
  TraceParent sampled_parent;
  sampled_parent.flags = kFlagSampled;
  TraceParent unsampled_parent;
  EXPECT_TRUE(decide_sampled(sampled_parent, id, sampling_threshold(0)));
  EXPECT_FALSE(decide_sampled(unsampled_parent, id, sampling_threshold(1)));
  EXPECT_FALSE(decide_sampled(std::nullopt, id, sampling_threshold(0.5)));
  EXPECT_TRUE(decide_sampled(std::nullopt, id, sampling_threshold(1)));
}

}  // namespace
}  // namespace portico::observability
