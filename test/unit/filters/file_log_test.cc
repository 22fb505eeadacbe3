// Kong's file-log plugin and the log-field templates it shares with the access log: config errors
// with file:line:column, the Kong-shaped line (request, response, latencies, ...) parsed back as
// JSON, credentials redacted, custom_fields (typed single variables, interpolation, replacement
// of a built-in field) and lines reaching the file through the writer thread.
#include "filters/file_log/file_log_filter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "filter/log_fields.h"
#include "harness/temp_dir.h"
#include "test_support.h"

namespace portico::filters {
namespace {

namespace json = boost::json;
using testing::fill_request;
using testing::load_plugin;

testing::Loaded load(const std::string& config_body) {
  return load_plugin("plugins:\n- name: file-log\n  config:\n" + config_body);
}

const FileLogFilter& as_file_log(const testing::Loaded& l) { return static_cast<const FileLogFilter&>(*l.filter); }

// An exchange as the proxy leaves it after a proxied request.
void fill_exchange(filter::Exchange& x) {
  fill_request(x, "/orders/7", "a=1&b&a=2&n=%20x");
  x.request.headers.add("Authorization", "Bearer secret-token");
  x.request.headers.add("Cookie", "session=abc");
  x.request.headers.add("X-Tenant", "acme \"corp\"");
  x.request.headers.add("Accept", "text/html");
  x.request.headers.add("accept", "application/json");
  x.request.client_ip = "192.0.2.7";
  x.request.client_port = 5555;
  x.request.request_id = "req-1";
  x.response.status = 201;
  x.response.headers.add("Content-Type", "application/json");
  x.response.headers.add("Set-Cookie", "id=1");
  x.status_sent = 201;
  x.bytes_sent = 345;
  x.bytes_received = 120;
  x.route_name = "orders";
  x.service_name = "shop";
  x.upstream_address = "10.0.0.5:8080";
  x.upstream_attempts = 2;
  const auto t0 = core::MonoClock::now();
  x.timings.start = t0;
  x.timings.upstream_start = t0 + std::chrono::milliseconds(1);
  x.timings.connect_start = t0 + std::chrono::milliseconds(1);
  x.timings.connected = t0 + std::chrono::milliseconds(3);
  x.timings.first_byte = t0 + std::chrono::milliseconds(13);
  x.timings.end = t0 + std::chrono::milliseconds(15);
  x.timings.filter_ms = 0.5;
}

json::object line_of(const FileLogFilter& f, const filter::Exchange& x) {
  std::string out;
  f.append_line(x, out);
  EXPECT_EQ(out.back(), '\n');
  boost::system::error_code ec;
  auto v = json::parse(out, ec);
  EXPECT_FALSE(ec) << out;
  return ec || !v.is_object() ? json::object() : v.as_object();
}

TEST(FileLogConfig, PathIsRequiredAndValidated) {
  auto none = load_plugin("plugins:\n- name: file-log\n");
  EXPECT_FALSE(none.filter);
  EXPECT_NE(none.error_text().find("file-log needs config.path"), std::string::npos) << none.error_text();

  auto missing = load("    reopen: true\n");
  EXPECT_FALSE(missing.filter);
  EXPECT_NE(missing.error_text().find("kong.yaml:4:5: plugins[0].config: missing required field 'path'"),
            std::string::npos)
      << missing.error_text();

  auto bad = load("    path: \"/tmp/a*b.log\"\n");
  EXPECT_FALSE(bad.filter);
  EXPECT_NE(bad.error_text().find("kong.yaml:4:11: plugins[0].config.path: not a valid filename"), std::string::npos)
      << bad.error_text();

  auto typo = load("    path: /tmp/x.log\n    reopn: true\n");
  EXPECT_FALSE(typo.filter);
  EXPECT_NE(typo.error_text().find("reopen"), std::string::npos) << typo.error_text();  // did you mean
}

TEST(FileLogConfig, LuaFieldsAreRefusedWithTheTemplateAlternative) {
  auto lua = load("    path: /tmp/x.log\n    custom_fields_by_lua:\n      tenant: \"return 1\"\n");
  EXPECT_FALSE(lua.filter);
  EXPECT_NE(lua.error_text().find("Portico runs no Lua: use custom_fields"), std::string::npos) << lua.error_text();
  // Kong's default (an empty map) loads.
  auto empty = load("    path: /tmp/x.log\n    custom_fields_by_lua: {}\n");
  EXPECT_TRUE(empty.filter) << empty.error_text();
}

TEST(FileLogConfig, BadTemplatesPointAtTheField) {
  auto unknown = load("    path: /tmp/x.log\n    custom_fields:\n      who: \"$nobody\"\n");
  EXPECT_FALSE(unknown.filter);
  EXPECT_NE(unknown.error_text().find("kong.yaml:6:12: plugins[0].config.custom_fields.who: unknown variable \"nobody\""),
            std::string::npos)
      << unknown.error_text();
  // `$${` is the loader's escape for a literal `${` (a bare `${` names an environment variable).
  auto unclosed = load("    path: /tmp/x.log\n    custom_fields:\n      who: \"$${status\"\n");
  EXPECT_NE(unclosed.error_text().find("unclosed \"${\""), std::string::npos) << unclosed.error_text();
  auto not_string = load("    path: /tmp/x.log\n    custom_fields:\n      who: [1]\n");
  EXPECT_NE(not_string.error_text().find("expected a template string"), std::string::npos) << not_string.error_text();
  auto bad_header = load("    path: /tmp/x.log\n    custom_fields:\n      who: \"$header.\"\n");
  EXPECT_NE(bad_header.error_text().find("needs a header name"), std::string::npos) << bad_header.error_text();
}

TEST(FileLogLine, ApiKeysAreRedacted) {
  auto loaded = load("    path: /tmp/x.log\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  fill_exchange(x);
  x.request.query = "a=1&apikey=sekrit&api%6Bey=sekrit2&jwt=sekrit5&access_token=sekrit6";
  x.request.headers.add("ApiKey", "sekrit3");
  x.request.headers.add("X-API-Key", "sekrit4");
  auto o = line_of(as_file_log(loaded), x);
  const std::string text = json::serialize(o);
  EXPECT_EQ(text.find("sekrit"), std::string::npos) << text;
  const auto& rq = o.at("request").as_object();
  EXPECT_EQ(rq.at("uri").as_string(),
            "/orders/7?a=1&apikey=REDACTED&api%6Bey=REDACTED&jwt=REDACTED&access_token=REDACTED");
  EXPECT_EQ(json::serialize(rq.at("querystring").as_object().at("apikey")), "[\"REDACTED\",\"REDACTED\"]");
  EXPECT_EQ(rq.at("headers").as_object().at("apikey").as_string(), "REDACTED");
  EXPECT_EQ(rq.at("headers").as_object().at("x-api-key").as_string(), "REDACTED");
}

TEST(FileLogLine, KongShapeWithRedactedCredentials) {
  auto loaded = load("    path: /tmp/x.log\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  EXPECT_EQ(loaded.priority, 9);
  EXPECT_EQ(loaded.filter->phases(), filter::kOnLog);
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  fill_exchange(x);
  auto o = line_of(as_file_log(loaded), x);
  const auto& rq = o.at("request").as_object();
  EXPECT_EQ(rq.at("method").as_string(), "GET");
  EXPECT_EQ(rq.at("uri").as_string(), "/orders/7?a=1&b&a=2&n=%20x");
  EXPECT_EQ(rq.at("url").as_string(), "http://Example.COM:8000/orders/7?a=1&b&a=2&n=%20x");
  EXPECT_EQ(rq.at("size").as_int64(), 120);
  EXPECT_EQ(rq.at("id").as_string(), "req-1");
  const auto& qs = rq.at("querystring").as_object();
  EXPECT_EQ(json::serialize(qs.at("a")), "[\"1\",\"2\"]");
  EXPECT_EQ(qs.at("b").as_bool(), true);
  EXPECT_EQ(qs.at("n").as_string(), " x");
  const auto& h = rq.at("headers").as_object();
  EXPECT_EQ(h.at("authorization").as_string(), "REDACTED");
  EXPECT_EQ(h.at("cookie").as_string(), "REDACTED");
  EXPECT_EQ(h.at("x-tenant").as_string(), "acme \"corp\"");
  EXPECT_EQ(json::serialize(h.at("accept")), "[\"text/html\",\"application/json\"]");
  EXPECT_EQ(h.at("user-agent").as_string(), "test/1.0");
  const auto& rs = o.at("response").as_object();
  EXPECT_EQ(rs.at("status").as_int64(), 201);
  EXPECT_EQ(rs.at("size").as_int64(), 345);
  EXPECT_EQ(rs.at("headers").as_object().at("set-cookie").as_string(), "REDACTED");
  const auto& lat = o.at("latencies").as_object();
  EXPECT_NEAR(lat.at("request").to_number<double>(), 15.0, 0.01);
  EXPECT_NEAR(lat.at("proxy").to_number<double>(), 10.0, 0.01);
  EXPECT_NEAR(lat.at("kong").to_number<double>(), 3.0, 0.01);  // gateway 1 + connect 2
  EXPECT_NEAR(lat.at("receive").to_number<double>(), 2.0, 0.01);
  EXPECT_EQ(o.at("client_ip").as_string(), "192.0.2.7");
  EXPECT_GT(o.at("started_at").to_number<double>(), 1.7e12);
  EXPECT_EQ(o.at("route").as_object().at("name").as_string(), "orders");
  EXPECT_EQ(o.at("service").as_object().at("name").as_string(), "shop");
  EXPECT_FALSE(o.contains("consumer"));  // anonymous
  EXPECT_EQ(o.at("upstream").as_object().at("attempts").as_int64(), 2);
  x.consumer_id = "c-42";
  EXPECT_EQ(line_of(as_file_log(loaded), x).at("consumer").as_object().at("id").as_string(), "c-42");
  // The secret never appears anywhere in the line.
  std::string raw;
  as_file_log(loaded).append_line(x, raw);
  EXPECT_EQ(raw.find("secret-token"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("session=abc"), std::string::npos) << raw;
}

TEST(FileLogLine, CustomFieldsAreTypedInterpolatedAndReplaceBuiltIns) {
  auto loaded = load(
      "    path: /tmp/x.log\n"
      "    custom_fields:\n"
      "      status_code: $status\n"
      "      tenant: \"$header.x-tenant\"\n"
      "      missing: \"$header.x-none\"\n"
      "      summary: \"$method $${path} -> $status in $${latency_ms}ms (cost $$1)\"\n"
      "      route: \"custom-$route\"\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  fill_exchange(x);
  auto o = line_of(as_file_log(loaded), x);
  EXPECT_EQ(o.at("status_code").as_int64(), 201);
  EXPECT_EQ(o.at("tenant").as_string(), "acme \"corp\"");
  EXPECT_TRUE(o.at("missing").is_null());
  EXPECT_EQ(o.at("summary").as_string(), "GET /orders/7 -> 201 in 15.000ms (cost $1)");
  EXPECT_EQ(o.at("route").as_string(), "custom-orders");  // replaces Kong's route object
  EXPECT_TRUE(o.contains("request"));
}

TEST(LogFields, DefaultAccessLogLineKeepsItsFields) {
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  fill_exchange(x);
  std::string out;
  filter::LogFields::access_log_default().append_object(x, out);
  boost::system::error_code ec;
  auto v = json::parse(out, ec);
  ASSERT_FALSE(ec) << out;
  const auto& o = v.as_object();
  for (const char* key : {"time", "client", "method", "path", "status", "bytes_sent", "bytes_received", "route",
                          "service", "upstream", "attempts", "latency_ms", "gateway_ms", "filter_ms", "connect_ms",
                          "upstream_ms", "request_id"}) {
    EXPECT_TRUE(o.contains(key)) << key << " in " << out;
  }
  EXPECT_EQ(o.at("client").as_string(), "192.0.2.7");
  EXPECT_NEAR(o.at("upstream_ms").to_number<double>(), 10.0, 0.01);
  EXPECT_NEAR(o.at("connect_ms").to_number<double>(), 2.0, 0.01);
  EXPECT_NEAR(o.at("gateway_ms").to_number<double>(), 1.0, 0.01);  // 15 - connect 2 - upstream 10 - receive 2
  EXPECT_EQ(out.find("\"status\":201,"), out.find("\"status\""));  // a number, not a string
}

TEST(LogFields, EveryVariableRendersAndControlCharactersAreEscaped) {
  filter::LogFields f;
  for (auto name : filter::LogFields::variable_names()) {
    ASSERT_EQ(f.add(name, "$" + std::string(name)), "") << name;
  }
  ASSERT_EQ(f.add("ua", "${header.user-agent}"), "");
  ASSERT_EQ(f.add("ct", "${response_header.content-type}"), "");
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  fill_exchange(x);
  x.request.path = "/a\nb\x01";
  std::string out;
  f.append_object(x, out);
  boost::system::error_code ec;
  auto v = json::parse(out, ec);
  ASSERT_FALSE(ec) << out;
  EXPECT_EQ(v.as_object().size(), f.size());
  EXPECT_EQ(v.as_object().at("path").as_string(), "/a\nb\x01");
  EXPECT_EQ(v.as_object().at("ua").as_string(), "test/1.0");
  EXPECT_EQ(v.as_object().at("ct").as_string(), "application/json");
  EXPECT_EQ(v.as_object().at("uri").as_string(), "/a\nb\x01?a=1&b&a=2&n=%20x");
  filter::LogFields none;
  out.clear();
  none.append_object(x, out);
  EXPECT_EQ(out, "{}");
}

// The values whose text depends on the wall clock ($time, $started_at) replaced by "T" / 0, so a
// whole line can be compared byte for byte.
std::string without_clock(std::string line) {
  for (std::string_view key : {"\"t\":\"", "\"time\":\""}) {
    size_t at = line.find(key);
    if (at == std::string::npos) continue;
    at += key.size();
    line.replace(at, 24, "T");
  }
  for (std::string_view key : {"\"started\":", "\"started_at\":"}) {
    size_t at = line.find(key);
    if (at == std::string::npos) continue;
    at += key.size();
    size_t end = line.find_first_of(",}", at);
    line.replace(at, end - at, "0");
  }
  return line;
}

// JSON string escaping as the log lines use it, one byte at a time: '"' and '\\' get a backslash,
// other control bytes and DEL become \u00XX, everything else (UTF-8 included) is copied.
std::string json_escaped(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string object_of(const filter::LogFields& f, const filter::Exchange& x) {
  std::string out;
  f.append_object(x, out);
  return without_clock(out);
}

// Byte-exact lines: every variable, typed values, templates, escaping at every position of short
// and long values, absent headers (null alone, nothing inside a template) and empty values.
TEST(LogFields, LinesAreByteExact) {
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  fill_exchange(x);
  filter::LogFields all;
  for (auto name : filter::LogFields::variable_names()) ASSERT_EQ(all.add(name, "$" + std::string(name)), "");
  EXPECT_EQ(object_of(all, x),
            "{\"time\":\"T\",\"started_at\":0,\"client_ip\":\"192.0.2.7\",\"client_port\":5555,\"method\":\"GET\","
            "\"path\":\"/orders/7\",\"query\":\"a=1&b&a=2&n=%20x\",\"uri\":\"/orders/7?a=1&b&a=2&n=%20x\","
            "\"host\":\"Example.COM:8000\",\"scheme\":\"http\",\"status\":201,\"bytes_sent\":345,"
            "\"bytes_received\":120,\"route\":\"orders\",\"service\":\"shop\",\"consumer\":\"\",\"credential\":\"\","
            "\"upstream\":\"10.0.0.5:8080\",\"attempts\":2,\"latency_ms\":15.000,\"gateway_ms\":1.000,"
            "\"filter_ms\":0.500,\"request_filters_ms\":0.000,\"response_filters_ms\":0.000,\"connect_ms\":2.000,"
            "\"upstream_ms\":10.000,\"receive_ms\":2.000,\"request_id\":\"req-1\"}");

  // Edge values: zero and the largest counters, milliseconds that round at the third decimal, an
  // empty path and no query.
  x.status_sent = 0;
  x.request.client_port = 0;
  x.bytes_sent = UINT64_MAX;
  x.bytes_received = 1000000;
  x.upstream_attempts = 0;
  x.timings.filter_ms = 1234.5675;
  x.timings.request_filters_ms = 0.0004;
  x.timings.response_filters_ms = 999.9996;
  x.request.path = "";
  x.request.query = "";
  x.request.has_query = false;
  EXPECT_EQ(object_of(all, x),
            "{\"time\":\"T\",\"started_at\":0,\"client_ip\":\"192.0.2.7\",\"client_port\":0,\"method\":\"GET\","
            "\"path\":\"\",\"query\":\"\",\"uri\":\"\",\"host\":\"Example.COM:8000\",\"scheme\":\"http\",\"status\":0,"
            "\"bytes_sent\":18446744073709551615,\"bytes_received\":1000000,\"route\":\"orders\",\"service\":\"shop\","
            "\"consumer\":\"\",\"credential\":\"\",\"upstream\":\"10.0.0.5:8080\",\"attempts\":0,\"latency_ms\":15.000,"
            "\"gateway_ms\":1.000,\"filter_ms\":1234.568,\"request_filters_ms\":0.000,\"response_filters_ms\":1000.000,"
            "\"connect_ms\":2.000,\"upstream_ms\":10.000,\"receive_ms\":2.000,\"request_id\":\"req-1\"}");
  fill_exchange(x);

  filter::LogFields t;
  ASSERT_EQ(t.add("k\"ey\\\x01", "$status"), "");
  ASSERT_EQ(t.add("summary", "${method} $uri -> $status in ${latency_ms}ms (cost $$1) \"q\" \\ \t"), "");
  ASSERT_EQ(t.add("ua", "${header.user-agent}"), "");
  ASSERT_EQ(t.add("missing", "${header.x-missing}"), "");
  ASSERT_EQ(t.add("missing_in_text", "<${header.x-missing}>"), "");
  ASSERT_EQ(t.add("tenant", "$header.x-tenant"), "");
  ASSERT_EQ(t.add("ct", "${response_header.content-type}"), "");
  ASSERT_EQ(t.add("lit", "plain text"), "");
  ASSERT_EQ(t.add("empty", ""), "");
  ASSERT_EQ(t.add("consumer", "$consumer"), "");
  ASSERT_EQ(t.add("pair", "$client_ip:$client_port"), "");
  ASSERT_EQ(t.add("t", "$time"), "");
  ASSERT_EQ(t.add("started", "$started_at"), "");
  EXPECT_EQ(object_of(t, x),
            "{\"k\\\"ey\\\\\\u0001\":201,\"summary\":\"GET /orders/7?a=1&b&a=2&n=%20x -> 201 in 15.000ms (cost $1) "
            "\\\"q\\\" \\\\ \\u0009\",\"ua\":\"test/1.0\",\"missing\":null,\"missing_in_text\":\"<>\","
            "\"tenant\":\"acme \\\"corp\\\"\",\"ct\":\"application/json\",\"lit\":\"plain text\",\"empty\":\"\","
            "\"consumer\":\"\",\"pair\":\"192.0.2.7:5555\",\"t\":\"T\",\"started\":0}");

  // Escapes at the start, middle and end of values of 1, 15, 16, 17, 31, 32, 33 and 100 bytes;
  // UTF-8 passes through, DEL and control bytes become \u00XX.
  filter::LogFields p;
  ASSERT_EQ(p.add("path", "$path"), "");
  ASSERT_EQ(p.add("in_text", "[$path]"), "");
  std::string expected, actual;
  for (size_t n : {1, 2, 15, 16, 17, 31, 32, 33, 64, 65, 100}) {
    for (size_t at : {size_t{0}, n / 2, n - 1}) {
      for (char special : {'"', '\\', '\n', '\x7f', '\x1f'}) {
        std::string value(n, 'a');
        for (size_t i = 0; i < n; ++i) value[i] = static_cast<char>('a' + i % 26);
        value[at] = special;
        if (n > 3) value[n / 3] = '\xc3';  // a UTF-8 lead byte goes through as it is
        x.request.path = value;
        actual += object_of(p, x);
        actual += '\n';
        expected += "{\"path\":\"" + json_escaped(value) + "\",\"in_text\":\"[" + json_escaped(value) + "]\"}\n";
      }
    }
  }
  EXPECT_EQ(actual, expected);
  x.request.path = "";
  EXPECT_EQ(object_of(p, x), "{\"path\":\"\",\"in_text\":\"[]\"}");
}

// The default line's field list as a compiled layout (the default line has its own writer; the
// two must give the same bytes).
filter::LogFields default_fields_compiled() {
  filter::LogFields same;
  for (auto [key, t] : {std::pair{"time", "$time"}, {"client", "$client_ip"}, {"method", "$method"},
                        {"path", "$path"}, {"status", "$status"}, {"bytes_sent", "$bytes_sent"},
                        {"bytes_received", "$bytes_received"}, {"route", "$route"}, {"service", "$service"},
                        {"upstream", "$upstream"}, {"attempts", "$attempts"}, {"latency_ms", "$latency_ms"},
                        {"gateway_ms", "$gateway_ms"}, {"filter_ms", "$filter_ms"}, {"connect_ms", "$connect_ms"},
                        {"upstream_ms", "$upstream_ms"}, {"request_id", "$request_id"}}) {
    EXPECT_EQ(same.add(key, t), "") << key;
  }
  return same;
}

// The default access-log line has its own writer; it must give the bytes the compiled layout of
// the same field list gives, for plain, escaped, long and empty values alike.
TEST(LogFields, DefaultLineMatchesTheCompiledLayoutOfItsFields) {
  const filter::LogFields same = default_fields_compiled();
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  fill_exchange(x);
  const auto& def = filter::LogFields::access_log_default();
  EXPECT_EQ(object_of(def, x), object_of(same, x));
  EXPECT_EQ(object_of(def, x),
            "{\"time\":\"T\",\"client\":\"192.0.2.7\",\"method\":\"GET\",\"path\":\"/orders/7\",\"status\":201,"
            "\"bytes_sent\":345,\"bytes_received\":120,\"route\":\"orders\",\"service\":\"shop\","
            "\"upstream\":\"10.0.0.5:8080\",\"attempts\":2,\"latency_ms\":15.000,\"gateway_ms\":1.000,"
            "\"filter_ms\":0.500,\"connect_ms\":2.000,\"upstream_ms\":10.000,\"request_id\":\"req-1\"}");
  const std::string long_id(300, 'i');
  x.request.path = "/a \"quoted\" path\\with\ttabs and a long tail of plain bytes";
  x.request.request_id = long_id;
  x.route_name = "";
  x.upstream_address = "";
  x.status_sent = 12345;
  EXPECT_EQ(object_of(def, x), object_of(same, x));
  // The time value: the format, with milliseconds.
  std::string line;
  def.append_object(x, line);
  ASSERT_GT(line.size(), 34u);
  const std::string time = line.substr(9, 24);
  EXPECT_EQ(time.size(), 24u);
  EXPECT_EQ(time[4], '-');
  EXPECT_EQ(time[10], 'T');
  EXPECT_EQ(time[19], '.');
  EXPECT_EQ(time[23], 'Z');
  EXPECT_EQ(line.substr(33, 3), "\",\"");
}

// The default line copies values that need no escape as they are and checks them once per line;
// any value with a byte to escape sends the whole line through the escaping writer. Both must give
// the compiled layout's bytes: every string field at every length around the copy widths (1-3, 4-7,
// 8-16 and longer with an overlapping last block), plain, UTF-8, and with each byte JSON escapes
// at each position; and milliseconds around the short form's limit (below 10 ms) and rounding.
TEST(LogFields, DefaultLineMatchesTheCompiledLayoutForEveryLengthAndByte) {
  const filter::LogFields same = default_fields_compiled();
  const auto& def = filter::LogFields::access_log_default();
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  fill_exchange(x);
  std::string value;  // the value under test; every field takes it in turn
  // Setters of the string fields (upstream_address is a string, the others views).
  std::vector<std::function<void(std::string_view)>> fields = {
      [&](std::string_view v) { x.request.client_ip = v; },  [&](std::string_view v) { x.request.method = v; },
      [&](std::string_view v) { x.request.path = v; },       [&](std::string_view v) { x.route_name = v; },
      [&](std::string_view v) { x.service_name = v; },       [&](std::string_view v) { x.upstream_address = v; },
      [&](std::string_view v) { x.request.request_id = v; }};
  auto members_of = [](const filter::LogFields& f, const filter::Exchange& e) {
    std::string out = "[";  // something before: members are appended
    f.append_members(e, out);
    return without_clock(out);
  };
  auto expect_same = [&](const char* what) {
    ASSERT_EQ(object_of(def, x), object_of(same, x)) << what;
    ASSERT_EQ(members_of(def, x), members_of(same, x)) << what;
  };
  const std::string escaped_bytes = std::string("\"\\\x7f\x01\x1f\t\n", 7) + std::string(1, '\0');
  const std::string saved = object_of(def, x);
  for (const auto& set : fields) {
    for (size_t n = 0; n <= 40; ++n) {
      value.clear();
      for (size_t i = 0; i < n; ++i) value += static_cast<char>('a' + i % 26);
      set(value);
      expect_same("plain");
      for (size_t at = 0; at < n; ++at) {
        for (char c : escaped_bytes) {
          value[at] = c;
          set(value);
          expect_same("escaped byte");
        }
        value[at] = static_cast<char>(0xc3);  // UTF-8 and other high bytes go as they are
        set(value);
        expect_same("high byte");
        value[at] = static_cast<char>(0xff);
        set(value);
        expect_same("0xff");
        value[at] = static_cast<char>('a' + at % 26);
      }
    }
  }
  fill_exchange(x);
  ASSERT_EQ(object_of(def, x), saved);
  // Milliseconds: exactly three decimals, rounded half up at the microsecond.
  for (auto [ms, text] : {std::pair{0.0, "0.000"}, {0.0004, "0.000"}, {0.0006, "0.001"}, {0.012, "0.012"},
                          {0.5, "0.500"}, {1.0, "1.000"}, {9.999, "9.999"}, {9.9994, "9.999"}, {9.9996, "10.000"},
                          {10.0, "10.000"}, {99.999, "99.999"}, {123.4567, "123.457"}, {1234.5678, "1234.568"},
                          {-1.0, "0.000"}, {1e14, "100000000000000.000"}}) {
    x.timings.filter_ms = ms;
    const std::string line = object_of(def, x);
    ASSERT_EQ(line, object_of(same, x)) << ms;
    EXPECT_NE(line.find(std::string("\"filter_ms\":") + text + ","), std::string::npos) << ms << " in " << line;
  }
}

TEST(FileLogWriter, LinesReachTheFileAndReopenFollowsARotation) {
  integration::TempDir dir;  // removed with its files, also when an assertion fails
  const std::string path = dir.file("access.log");
  auto loaded = load("    path: " + path + "\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  fill_exchange(x);
  for (int i = 0; i < 3; ++i) loaded.filter->on_log(x);
  observability::flush_thread_log_buffers();
  observability::flush_log_destinations();
  auto count_lines = [](const std::string& p) {
    std::ifstream in(p);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      boost::system::error_code ec;
      json::parse(line, ec);
      EXPECT_FALSE(ec) << line;
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count_lines(path), 3);
  // A rotation tool moves the file away; SIGUSR1's reopen sends the next lines to a new file.
  ASSERT_EQ(std::rename(path.c_str(), (path + ".1").c_str()), 0);
  observability::reopen_log_destinations();
  loaded.filter->on_log(x);
  observability::flush_thread_log_buffers();
  observability::flush_log_destinations();
  EXPECT_EQ(count_lines(path + ".1"), 3);
  EXPECT_EQ(count_lines(path), 1);
}

}  // namespace
}  // namespace portico::filters
