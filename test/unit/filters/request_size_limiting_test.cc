#include "filters/request_size_limiting/request_size_limiting_filter.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "auth_test_support.h"
#include "test_support.h"

namespace portico::filters {
namespace {

using testing::fill_request;
using testing::load_plugin;
using testing::run_request;

TEST(RequestSizeLimitingConfig, DefaultsUnitsAndErrors) {
  auto d = load_plugin("plugins:\n- name: request-size-limiting\n");
  ASSERT_TRUE(d.filter) << d.error_text();
  EXPECT_EQ(d.priority, 951);
  EXPECT_EQ(static_cast<const RequestSizeLimitingFilter&>(*d.filter).limit_bytes(), 128u << 20);
  auto kb = load_plugin(
      "plugins:\n- name: request-size-limiting\n  config: {allowed_payload_size: 3, size_unit: kilobytes}\n");
  EXPECT_EQ(static_cast<const RequestSizeLimitingFilter&>(*kb.filter).limit_bytes(), 3072u);
  auto bad = load_plugin(R"(plugins:
- name: request-size-limiting
  config:
    allowed_payload_size: 0
    size_unit: gigabytes
)");
  EXPECT_FALSE(bad.filter);
  EXPECT_EQ(bad.error_text(),
            "kong.yaml:4:27: plugins[0].config.allowed_payload_size: value 0 is out of range "
            "(1..1099511627776)\n"
            "kong.yaml:5:16: plugins[0].config.size_unit: \"gigabytes\" is not one of: megabytes, "
            "kilobytes, bytes");
}

TEST(RequestSizeLimiting, ContentLengthAndChunked) {
  boost::asio::io_context io;
  auto f = load_plugin(R"(plugins:
- name: request-size-limiting
  config: {allowed_payload_size: 10, size_unit: bytes, require_content_length: true}
)").filter;
  ASSERT_TRUE(f);
  filter::Exchange ok{io.get_executor()};
  fill_request(ok);
  ok.request.has_body = true;
  ok.request.content_length = 10;
  EXPECT_TRUE(run_request(*f, ok).proceeds());

  filter::Exchange big{io.get_executor()};
  fill_request(big);
  big.request.has_body = true;
  big.request.content_length = 11;
  EXPECT_FALSE(run_request(*f, big).proceeds());
  EXPECT_EQ(big.reply.status, 413);
  EXPECT_EQ(big.reply.body, R"({"message":"Request size limit exceeded"})");

  filter::Exchange chunked{io.get_executor()};
  fill_request(chunked);
  chunked.request.has_body = chunked.request.chunked = true;
  EXPECT_FALSE(run_request(*f, chunked).proceeds());
  EXPECT_EQ(chunked.reply.status, 411);
  EXPECT_EQ(chunked.reply.body, R"({"message":"A valid Content-Length header is required"})");

  auto lenient = load_plugin(
      "plugins:\n- name: request-size-limiting\n  config: {allowed_payload_size: 10, size_unit: bytes}\n").filter;
  filter::Exchange streamed{io.get_executor()};
  fill_request(streamed);
  streamed.request.has_body = streamed.request.chunked = true;
  EXPECT_TRUE(run_request(*lenient, streamed).proceeds());
  EXPECT_EQ(streamed.max_body_bytes, 10u);  // enforced by the proxy while streaming
}

}  // namespace
}  // namespace portico::filters
