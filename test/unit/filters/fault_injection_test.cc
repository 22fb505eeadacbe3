#include "filters/fault_injection/fault_injection_filter.h"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <thread>

#include "filters/fault_injection/fast_random.h"
#include "test_support.h"

namespace portico::filters {
namespace {

using namespace std::chrono_literals;
using testing::load_plugin;

testing::Loaded load(const std::string& config_body) {
  return load_plugin("plugins:\n- name: fault-injection\n  config:\n" + config_body);
}

const FaultInjectionFilter& as_fault(const testing::Loaded& loaded) {
  return static_cast<const FaultInjectionFilter&>(*loaded.filter);
}

TEST(FaultInjectionConfig, DefaultsFollowEnvoy) {
  auto loaded = load(R"(    delay: {fixed_delay: 250}
    abort: {http_status: 503}
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  EXPECT_EQ(loaded.priority, 3);
  EXPECT_EQ(loaded.filter->phases(), filter::kOnRequest);
  const auto& config = as_fault(loaded).config();
  ASSERT_TRUE(config.delay && config.abort);
  EXPECT_EQ(config.delay->fixed_delay, 250ms);
  EXPECT_EQ(config.delay->parts_per_million, 1'000'000u);
  EXPECT_EQ(config.abort->http_status, 503);
  EXPECT_EQ(config.abort->parts_per_million, 1'000'000u);
  EXPECT_EQ(config.abort->message, "fault filter abort");
}

TEST(FaultInjectionConfig, FractionalPercentages) {
  auto loaded = load(R"(    delay: {fixed_delay: 5, percentage: 0.5}
    abort: {http_status: 500, percentage: 12, message: chaos}
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  const auto& config = as_fault(loaded).config();
  EXPECT_EQ(config.delay->parts_per_million, 5'000u);
  EXPECT_EQ(config.abort->parts_per_million, 120'000u);
  EXPECT_EQ(config.abort->message, "chaos");
}

TEST(FaultInjectionConfig, NoConfigIsAnError) {
  auto loaded = load_plugin("plugins:\n- name: fault-injection\n");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "plugins[0].config: fault-injection needs 'delay', 'abort' or both");
}

struct ErrorCase {
  const char* name;
  const char* config;
  const char* error;
};

class FaultInjectionConfigError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(FaultInjectionConfigError, IsReportedWithPosition) {
  auto loaded = load(GetParam().config);
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    All, FaultInjectionConfigError,
    ::testing::Values(
        ErrorCase{"NeitherDelayNorAbort", "    {}\n",
                  "kong.yaml:4:5: plugins[0].config: fault-injection needs 'delay', 'abort' or both"},
        ErrorCase{"MissingFixedDelay", "    delay: {percentage: 10}\n",
                  "kong.yaml:4:12: plugins[0].config.delay: missing required field 'fixed_delay'"},
        ErrorCase{"ZeroDelay", "    delay: {fixed_delay: 0}\n",
                  "kong.yaml:4:26: plugins[0].config.delay.fixed_delay: value 0 is out of range "
                  "(1..3600000)"},
        ErrorCase{"DelayWithUnit", "    delay: {fixed_delay: 5s}\n",
                  "kong.yaml:4:26: plugins[0].config.delay.fixed_delay: expected an integer, got a "
                  "string (\"5s\")"},
        ErrorCase{"PercentageAbove100", "    delay: {fixed_delay: 5, percentage: 150}\n",
                  "kong.yaml:4:41: plugins[0].config.delay.percentage: value 150 is out of range "
                  "(0..100)"},
        ErrorCase{"MissingHttpStatus", "    abort: {percentage: 10}\n",
                  "kong.yaml:4:12: plugins[0].config.abort: missing required field 'http_status'"},
        ErrorCase{"HttpStatusTooLow", "    abort: {http_status: 199}\n",
                  "kong.yaml:4:26: plugins[0].config.abort.http_status: value 199 is out of range "
                  "(200..599)"},
        ErrorCase{"DelayNotAMap", "    delay: 100\n",
                  "kong.yaml:4:12: plugins[0].config.delay: expected a map, got an integer (100)"},
        ErrorCase{"UnknownField", "    abort: {http_status: 500, body: x}\n",
                  "kong.yaml:4:31: plugins[0].config.abort.body: unknown field 'body'; expected "
                  "one of: http_status, percentage, message"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

TEST(FaultInjection, NothingDrawnIsReadyAndContinues) {
  auto loaded = load(R"(    delay: {fixed_delay: 1000, percentage: 0}
    abort: {http_status: 500, percentage: 0}
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  for (int i = 0; i < 100; ++i) {
    filter::Step step = loaded.filter->on_request(x);
    ASSERT_TRUE(step.ready()) << "no fault must mean no coroutine frame";
    EXPECT_EQ(step.verdict().kind, filter::Verdict::Kind::kContinue);
  }
  EXPECT_FALSE(x.reply.active());
}

TEST(FaultInjection, AbortWithoutDelayIsReady) {
  auto loaded = load("    abort: {http_status: 503, message: injected}\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  filter::Step step = loaded.filter->on_request(x);
  ASSERT_TRUE(step.ready());
  EXPECT_EQ(step.verdict().kind, filter::Verdict::Kind::kRespond);
  EXPECT_EQ(x.reply.status, 503);
  EXPECT_EQ(x.reply.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(x.reply.body, R"({"message":"injected"})");
}

// Runs a delayed step on `io` and reports the verdict and how long it took.
struct Outcome {
  std::optional<filter::Verdict> verdict;
  bool finished_before_run = false;
  std::chrono::steady_clock::duration elapsed{};
};

Outcome run_delayed(boost::asio::io_context& io, filter::Step step,
                    boost::asio::cancellation_signal* cancel = nullptr) {
  Outcome out;
  auto start = std::chrono::steady_clock::now();
  auto done = [&](std::exception_ptr error, filter::Verdict v) {
    EXPECT_FALSE(error);
    out.verdict = v;
    out.elapsed = std::chrono::steady_clock::now() - start;
  };
  if (cancel != nullptr) {
    boost::asio::co_spawn(io, step.take_task(),
                          boost::asio::bind_cancellation_slot(cancel->slot(), done));
  } else {
    boost::asio::co_spawn(io, step.take_task(), done);
  }
  // Everything that is ready runs now: the task starts and parks on its timer.
  io.poll();
  out.finished_before_run = out.verdict.has_value();
  if (cancel != nullptr) cancel->emit(boost::asio::cancellation_type::terminal);
  io.run();
  return out;
}

TEST(FaultInjection, DelaySuspendsOnATimerThenContinues) {
  auto loaded = load("    delay: {fixed_delay: 60}\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  filter::Step step = loaded.filter->on_request(x);
  ASSERT_FALSE(step.ready());

  Outcome out = run_delayed(io, std::move(step));
  EXPECT_FALSE(out.finished_before_run) << "the task must wait for its timer";
  ASSERT_TRUE(out.verdict);
  EXPECT_EQ(out.verdict->kind, filter::Verdict::Kind::kContinue);
  EXPECT_GE(out.elapsed, 60ms);
  EXPECT_FALSE(x.reply.active());
}

TEST(FaultInjection, DelayThenAbort) {
  auto loaded = load(R"(    delay: {fixed_delay: 30}
    abort: {http_status: 504}
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  filter::Step step = loaded.filter->on_request(x);
  ASSERT_FALSE(step.ready());
  EXPECT_FALSE(x.reply.active()) << "the abort happens after the delay, not before";

  Outcome out = run_delayed(io, std::move(step));
  EXPECT_FALSE(out.finished_before_run);
  ASSERT_TRUE(out.verdict);
  EXPECT_EQ(out.verdict->kind, filter::Verdict::Kind::kRespond);
  EXPECT_GE(out.elapsed, 30ms);
  EXPECT_EQ(x.reply.status, 504);
  EXPECT_EQ(x.reply.body, R"({"message":"fault filter abort"})");
}

TEST(FaultInjection, CancellingTheRequestEndsTheDelay) {
  auto loaded = load("    delay: {fixed_delay: 10000}\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  boost::asio::cancellation_signal cancel;
  Outcome out = run_delayed(io, loaded.filter->on_request(x), &cancel);
  EXPECT_FALSE(out.finished_before_run);
  ASSERT_TRUE(out.verdict);
  EXPECT_EQ(out.verdict->kind, filter::Verdict::Kind::kError);
  EXPECT_EQ(out.verdict->source, filter::ErrorSource::kDownstream);
  EXPECT_EQ(out.verdict->status, 499);
  EXPECT_LT(out.elapsed, 5s);
}

TEST(FaultInjection, ConcurrentDelaysOverlap) {
  // Two requests delayed on one worker wait side by side: the timer suspends, it never blocks.
  auto loaded = load("    delay: {fixed_delay: 80}\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  boost::asio::io_context io;
  filter::Exchange a(io.get_executor()), b(io.get_executor());
  int finished = 0;
  auto done = [&](std::exception_ptr, filter::Verdict) { ++finished; };
  auto start = std::chrono::steady_clock::now();
  boost::asio::co_spawn(io, loaded.filter->on_request(a).take_task(), done);
  boost::asio::co_spawn(io, loaded.filter->on_request(b).take_task(), done);
  io.run();
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(finished, 2);
  EXPECT_GE(elapsed, 80ms);
  EXPECT_LT(elapsed, 160ms);
}

TEST(FaultInjection, PercentageIsHonouredStatistically) {
  auto loaded = load("    delay: {fixed_delay: 1, percentage: 25}\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  constexpr int kDraws = 20'000;
  int delayed = 0;
  for (int i = 0; i < kDraws; ++i) {
    // A task that is never awaited is simply destroyed with its frame.
    delayed += loaded.filter->on_request(x).ready() ? 0 : 1;
  }
  // Expected 5000, standard deviation ~61: these bounds are more than 8 deviations wide.
  EXPECT_GT(delayed, 4500);
  EXPECT_LT(delayed, 5500);
}

TEST(FastRandom, ExtremesNeedNoDraw) {
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(sample_ppm(1'000'000));
    EXPECT_FALSE(sample_ppm(0));
  }
}

TEST(FastRandom, EachThreadHasItsOwnSequence) {
  uint64_t here[4], there[4];
  for (auto& v : here) v = thread_random();
  std::thread t([&] {
    for (auto& v : there) v = thread_random();
  });
  t.join();
  EXPECT_FALSE(std::equal(std::begin(here), std::end(here), std::begin(there)));
}

}  // namespace
}  // namespace portico::filters
