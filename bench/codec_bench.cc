// Micro-benchmark of the HTTP/1.1 request parser on a typical browser-sized request head.
#include <benchmark/benchmark.h>

#include "codec/http1/request_parser.h"

namespace {

constexpr std::string_view kRequest =
    "GET /api/orders/12345?expand=items&limit=10 HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n"
    "Accept: application/json, text/plain, */*\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig\r\n"
    "Cookie: session=abcdef0123456789; theme=dark\r\n"
    "X-Request-Id: 7d2c5a1e-8f0b-4e7c-9a3d-1b2c3d4e5f60\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

void BM_ParseRequestHead(benchmark::State& state) {
  portico::codec::http1::RequestParser parser;
  portico::codec::http1::RequestHead head;
  for (auto _ : state) {
    parser.reset();
    auto st = parser.parse(kRequest, head);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(head.headers.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRequest.size()));
}
BENCHMARK(BM_ParseRequestHead);

}  // namespace

BENCHMARK_MAIN();
