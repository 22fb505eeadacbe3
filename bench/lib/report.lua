-- wrk script for proxy_bench.sh: defines only done(), so wrk keeps its fast
-- static-request path, and prints one machine-readable line at the end.
-- Latencies are in microseconds; errors.status counts responses >= 400.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d bytes=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_timeout=%d err_status=%d " ..
    "p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
