#include "observability/span_exporter.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <span>
#include <thread>

#include "core/thread.h"
#include "observability/http_post.h"
#include "observability/log.h"

namespace portico::observability {
namespace {

using Clock = std::chrono::steady_clock;

// An encoded span in a queue cell: kInline bytes inside the cell and a heap buffer beyond that.
// A cell keeps its heap buffer for the next long span while the queue's kept heap bytes stay
// within kKeptHeapBudget (the consumer lets go of buffers beyond it), so long spans (long paths or
// User-Agents, JSON spans) reuse buffers without the queue's memory growing with them.
class SpanBytes {
 public:
  // A protobuf server span with a long User-Agent fits; the cell is 0.75 KiB with its sequence number.
  static constexpr size_t kInline = 720;

  // `kept`: the queue's heap bytes held by cells (what this cell allocates or lets go is counted).
  void assign(std::string_view bytes, std::atomic<size_t>& kept) {
    const size_t n = bytes.size();
    char* d = inline_;
    if (n > kInline) [[unlikely]] {
      if (n > heap_capacity_) {
        const size_t capacity = std::max(n, size_t{2048});
        heap_.reset(new char[capacity]);
        kept.fetch_add(capacity - heap_capacity_, std::memory_order_relaxed);
        heap_capacity_ = capacity;
      }
      d = heap_.get();
    }
    std::memcpy(d, bytes.data(), n);
    size_ = n;
  }
  std::string_view view() const { return {size_ > kInline ? heap_.get() : inline_, size_}; }
  // Consumer, after reading: lets the heap buffer go when the queue keeps more than its budget.
  void trim(std::atomic<size_t>& kept, size_t budget) {
    if (heap_capacity_ != 0 && kept.load(std::memory_order_relaxed) > budget) [[unlikely]] {
      kept.fetch_sub(heap_capacity_, std::memory_order_relaxed);
      heap_.reset();
      heap_capacity_ = 0;
    }
  }

 private:
  size_t size_ = 0;
  size_t heap_capacity_ = 0;
  std::unique_ptr<char[]> heap_;
  char inline_[kInline];
};

// Bounded multi-producer queue over a ring of sequence-numbered cells (the classic bounded MPMC
// design): a producer claims a cell with one compare-exchange on the enqueue counter and publishes
// it with a release store; the single consumer does the mirror image. No locks; a full ring is
// detected without waiting. Chosen over per-worker SPSC rings because filters do not know which
// worker they run on, and with a handful of workers the one contended cache line costs less than a
// span's own encoding.
class SpanQueue {
 public:
  explicit SpanQueue(size_t capacity) {
    size_t n = 2;
    while (n < capacity) n <<= 1;
    mask_ = n - 1;
    cells_ = std::make_unique<Cell[]>(n);
    for (size_t i = 0; i < n; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }

  bool push(std::string_view span) {
    size_t pos = enqueue_.load(std::memory_order_relaxed);
    Cell* cell;
    while (true) {
      cell = &cells_[pos & mask_];
      size_t seq = cell->seq.load(std::memory_order_acquire);
      auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
      if (diff == 0) {
        if (enqueue_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (diff < 0) {
        return false;  // full: the cell still holds a span the consumer has not taken
      } else {
        pos = enqueue_.load(std::memory_order_relaxed);
      }
    }
    cell->bytes.assign(span, kept_heap_);
    cell->seq.store(pos + 1, std::memory_order_release);
    return true;
  }

  // Hands the oldest span's bytes to `consume` (they are valid during the call only).
  template <class Consume>
  bool pop(Consume&& consume) {
    size_t pos = dequeue_.load(std::memory_order_relaxed);
    Cell* cell;
    while (true) {
      cell = &cells_[pos & mask_];
      size_t seq = cell->seq.load(std::memory_order_acquire);
      auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos + 1);
      if (diff == 0) {
        if (dequeue_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (diff < 0) {
        return false;  // empty
      } else {
        pos = dequeue_.load(std::memory_order_relaxed);
      }
    }
    consume(cell->bytes.view());
    cell->bytes.trim(kept_heap_, kKeptHeapBudget);
    cell->seq.store(pos + mask_ + 1, std::memory_order_release);
    return true;
  }

  // Heap bytes cells keep for long spans beyond which the consumer lets buffers go.
  static constexpr size_t kKeptHeapBudget = 4u << 20;

  // Approximate (racy but never negative by more than the in-flight pushes).
  size_t size() const {
    size_t e = enqueue_.load(std::memory_order_relaxed);
    size_t d = dequeue_.load(std::memory_order_relaxed);
    return e > d ? e - d : 0;
  }

 private:
  struct Cell {
    std::atomic<size_t> seq{0};
    SpanBytes bytes;
  };
  std::unique_ptr<Cell[]> cells_;
  size_t mask_ = 0;
  alignas(64) std::atomic<size_t> enqueue_{0};
  alignas(64) std::atomic<size_t> dequeue_{0};
  std::atomic<size_t> kept_heap_{0};
};

OtlpEncoding encoding_of(const ExporterSettings& s) { return s.json ? OtlpEncoding::kJson : OtlpEncoding::kProtobuf; }

std::chrono::milliseconds shutdown_bound(const ExporterSettings& s) {
  auto bound = s.connect_timeout + s.send_timeout + s.read_timeout;
  return std::min(bound, std::chrono::milliseconds(10000));
}

}  // namespace

struct SpanExporter::State {
  explicit State(ExporterSettings s)
      : settings(std::move(s)), queue(settings.queue_capacity), batch(encoding_of(settings), header_of(settings)) {
    if (settings.batch_span_count == 0) settings.batch_span_count = 1;
    std::string reason;
    url_ok = parse_http_url(settings.traces_endpoint, url, reason);
    if (!url_ok) PORTICO_LOG_ERROR("opentelemetry: bad traces_endpoint: {}", reason);
  }

  static ExportHeader header_of(const ExporterSettings& settings) {
    ExportHeader header;
    header.scope_name = "portico";
    header.scope_version = "0.1.0";
    bool has_service_name = false;
    for (const auto& [k, v] : settings.resource_attributes) {
      if (k == "service.name") has_service_name = true;
    }
    if (!has_service_name) header.resource_attributes.emplace_back("service.name", "portico");
    for (const auto& [k, v] : settings.resource_attributes) header.resource_attributes.emplace_back(k, v);
    return header;
  }

  void run();
  // Takes up to batch_span_count spans from the queue into `batch`; returns how many.
  size_t take();
  // Exports `batch`.
  void export_batch();

  ExporterSettings settings;
  HttpUrl url;
  bool url_ok = false;
  SpanQueue queue;
  ExporterCounters counters;
  HttpPoster poster;
  BatchEncoder batch;  // reused: its buffer settles at the largest batch

  std::mutex mu;
  std::condition_variable cv;
  std::atomic<bool> wake_requested{false};
  std::atomic<bool> stopping{false};
  std::atomic<bool> finished{false};
  // The thread starts with the first span (a config that is only checked, or never traced, starts
  // none); `started` is the producers' fast check, `start_once` makes exactly one.
  std::atomic<bool> started{false};
  std::once_flag start_once;
  Clock::time_point last_failure_log{};
  uint64_t failures_since_log = 0;
};

size_t SpanExporter::State::take() {
  // Each span's bytes go straight from its queue cell into the request body.
  batch.clear();
  while (batch.size() < settings.batch_span_count &&
         queue.pop([this](std::string_view span) { batch.add(span); })) {
  }
  return batch.size();
}

void SpanExporter::State::export_batch() {
  const size_t spans = batch.size();
  if (spans == 0) return;
  const std::string_view payload = batch.finish();
  std::string error;
  int status = 0;
  bool ok = url_ok && poster.post(url, batch.content_type(), settings.headers, payload,
                                  {settings.connect_timeout, settings.send_timeout, settings.read_timeout},
                                  status, error);
  if (ok && status >= 200 && status < 300) {
    counters.spans_exported.fetch_add(spans, std::memory_order_relaxed);
    counters.batches_exported.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  counters.export_failures.fetch_add(1, std::memory_order_relaxed);
  counters.spans_dropped_export_failed.fetch_add(spans, std::memory_order_relaxed);
  if (!url_ok) error = "bad traces_endpoint";
  if (ok) error = "status " + std::to_string(status);
  // At most one line every 10 s per exporter: a collector that is down must not flood the log.
  ++failures_since_log;
  auto now = Clock::now();
  if (now - last_failure_log >= std::chrono::seconds(10)) {
    PORTICO_LOG_WARN("opentelemetry: export to {} failed ({}); {} batch(es) dropped since last report",
                     settings.traces_endpoint, error, failures_since_log);
    last_failure_log = now;
    failures_since_log = 0;
  }
}

void SpanExporter::State::run() {
  auto next_flush = Clock::now() + settings.batch_flush_delay;
  while (!stopping.load(std::memory_order_acquire)) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_until(lock, next_flush, [&] {
        return stopping.load(std::memory_order_relaxed) || wake_requested.load(std::memory_order_relaxed);
      });
    }
    wake_requested.store(false, std::memory_order_relaxed);
    if (stopping.load(std::memory_order_acquire)) break;
    auto now = Clock::now();
    bool flush_due = now >= next_flush;
    // Full batches go as soon as they are there; a partial one waits for the flush tick, so no span
    // waits longer than batch_flush_delay.
    while (queue.size() >= settings.batch_span_count || flush_due) {
      if (take() == 0) break;
      export_batch();
      if (batch.size() < settings.batch_span_count && !flush_due) break;
    }
    if (flush_due) {
      next_flush += settings.batch_flush_delay;
      if (next_flush <= Clock::now()) next_flush = Clock::now() + settings.batch_flush_delay;
    }
  }
  // Shutdown: flush what is queued, within a bound.
  auto deadline = Clock::now() + shutdown_bound(settings);
  while (Clock::now() < deadline && take() > 0) export_batch();
  size_t left = 0;
  while (queue.pop([](std::string_view) {})) ++left;
  if (left) counters.spans_dropped_export_failed.fetch_add(left, std::memory_order_relaxed);
  poster.close();
  PORTICO_LOG_INFO("opentelemetry: exporter for {} stopped: {} spans exported, {} dropped (queue full), "
                   "{} dropped (export failed), {} failed exports",
                   settings.traces_endpoint, counters.spans_exported.load(std::memory_order_relaxed),
                   counters.spans_dropped_queue_full.load(std::memory_order_relaxed),
                   counters.spans_dropped_export_failed.load(std::memory_order_relaxed),
                   counters.export_failures.load(std::memory_order_relaxed));
}

namespace {

// Every exporter ever started, so a settings key finds the live one and process exit can wait for
// the flushing ones. Leaked on purpose: it must outlive static destruction of everything else.
struct Registry {
  std::mutex mu;
  std::map<std::string, std::weak_ptr<SpanExporter>> by_key;
  struct Running {
    std::shared_ptr<SpanExporter::State> state;
    std::thread thread;
  };
  std::vector<Running> running;

  // Joins the threads of exporters that finished flushing. Called with `mu` held.
  void reap() {
    for (auto it = running.begin(); it != running.end();) {
      if (it->state->finished.load(std::memory_order_acquire)) {
        it->thread.join();
        it = running.erase(it);
      } else {
        ++it;
      }
    }
  }
};

Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

// At process exit: ask every exporter still running to stop, wait for their flush within the bound,
// and detach any that overrun it.
struct ExitFlush {
  ~ExitFlush() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto deadline = Clock::now();
    for (auto& run : r.running) {
      deadline = std::max(deadline, Clock::now() + shutdown_bound(run.state->settings));
      run.state->stopping.store(true, std::memory_order_release);
      { std::lock_guard<std::mutex> l(run.state->mu); }
      run.state->cv.notify_one();
    }
    for (auto& run : r.running) {
      while (!run.state->finished.load(std::memory_order_acquire) && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (run.state->finished.load(std::memory_order_acquire)) {
        run.thread.join();
      } else {
        run.thread.detach();
      }
    }
    r.running.clear();
  }
};

}  // namespace

std::string ExporterSettings::key() const {
  std::string k = traces_endpoint;
  k += json ? "\njson" : "\nprotobuf";
  for (const auto& [n, v] : headers) k += "\nh:" + n + ":" + v;
  for (const auto& [n, v] : resource_attributes) k += "\nr:" + n + ":" + v;
  k += "\n" + std::to_string(batch_span_count) + "/" + std::to_string(batch_flush_delay.count()) + "/" +
       std::to_string(queue_capacity) + "/" + std::to_string(connect_timeout.count()) + "/" +
       std::to_string(send_timeout.count()) + "/" + std::to_string(read_timeout.count());
  return k;
}

std::shared_ptr<SpanExporter> SpanExporter::shared(const ExporterSettings& settings) {
  Registry& r = registry();
  std::string key = settings.key();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.reap();
    auto it = r.by_key.find(key);
    if (it != r.by_key.end()) {
      if (auto live = it->second.lock()) return live;
    }
  }
  auto exporter = std::make_shared<SpanExporter>(settings);
  std::lock_guard<std::mutex> lock(r.mu);  // released before `exporter` goes out of scope
  // Another thread may have made one for the same settings meanwhile: one exporter per key.
  if (auto it = r.by_key.find(key); it != r.by_key.end()) {
    if (auto live = it->second.lock()) return live;
  }
  for (auto it = r.by_key.begin(); it != r.by_key.end();) {
    it = it->second.expired() ? r.by_key.erase(it) : std::next(it);
  }
  r.by_key[key] = exporter;
  return exporter;
}

std::vector<ExporterCounterSnapshot> SpanExporter::all_counters() {
  std::vector<ExporterCounterSnapshot> out;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  // Live exporters (started or not yet), then those still flushing after their last owner went.
  std::vector<const State*> states;
  for (const auto& [key, weak] : r.by_key) {
    if (auto live = weak.lock()) states.push_back(live->state_.get());
  }
  for (const auto& run : r.running) {
    if (std::find(states.begin(), states.end(), run.state.get()) == states.end()) states.push_back(run.state.get());
  }
  for (const State* state : states) {
    const ExporterCounters& c = state->counters;
    ExporterCounterSnapshot s;
    s.endpoint = state->settings.traces_endpoint;
    s.spans_enqueued = c.spans_enqueued.load(std::memory_order_relaxed);
    s.spans_exported = c.spans_exported.load(std::memory_order_relaxed);
    s.spans_dropped_queue_full = c.spans_dropped_queue_full.load(std::memory_order_relaxed);
    s.spans_dropped_export_failed = c.spans_dropped_export_failed.load(std::memory_order_relaxed);
    s.batches_exported = c.batches_exported.load(std::memory_order_relaxed);
    s.export_failures = c.export_failures.load(std::memory_order_relaxed);
    out.push_back(std::move(s));
  }
  return out;
}

SpanExporter::SpanExporter(ExporterSettings settings)
    : state_(std::make_shared<State>(std::move(settings))) {}

void SpanExporter::start() {
  std::call_once(state_->start_once, [this] {
    static ExitFlush exit_flush;  // constructed with the first thread, run at process exit
    Registry& r = registry();
    auto state = state_;
    std::thread thread([state] {
      core::become_background_thread("portico-otel");
      state->run();
      state->finished.store(true, std::memory_order_release);
    });
    {
      std::lock_guard<std::mutex> lock(r.mu);
      r.running.push_back({state_, std::move(thread)});
    }
    state_->started.store(true, std::memory_order_release);
  });
}

bool SpanExporter::started() const { return state_->started.load(std::memory_order_acquire); }

SpanExporter::~SpanExporter() {
  // Never joins: the thread flushes on its own and is reaped later (or at exit). An exporter that
  // never got a span has no thread and nothing to flush.
  state_->stopping.store(true, std::memory_order_release);
  { std::lock_guard<std::mutex> lock(state_->mu); }
  state_->cv.notify_one();
}

bool SpanExporter::enqueue(std::string_view span) {
  State& s = *state_;
  if (!s.started.load(std::memory_order_acquire)) [[unlikely]] start();
  if (!s.queue.push(span)) {
    s.counters.spans_dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  s.counters.spans_enqueued.fetch_add(1, std::memory_order_relaxed);
  // One wake-up per full batch: the exporter clears the flag when it wakes.
  if (s.queue.size() >= s.settings.batch_span_count &&
      !s.wake_requested.load(std::memory_order_relaxed) &&
      !s.wake_requested.exchange(true, std::memory_order_relaxed)) {
    { std::lock_guard<std::mutex> lock(s.mu); }
    s.cv.notify_one();
  }
  return true;
}

const ExporterCounters& SpanExporter::counters() const { return state_->counters; }
const ExporterSettings& SpanExporter::settings() const { return state_->settings; }
OtlpEncoding SpanExporter::encoding() const { return encoding_of(state_->settings); }

}  // namespace portico::observability
