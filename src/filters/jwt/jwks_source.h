// JwksSource: a remote JSON Web Key Set (`jwks_uri`) kept fresh off the request path.
//
// Contract
// - `shared(settings)` is called on the control thread while a snapshot compiles (and by
//   `portico check`, which never fetches). Sources are shared per settings: every plugin instance
//   with the same settings, and the same instance across reloads, use one source, so a reload
//   never refetches nor forgets keys. A source no snapshot uses any more is dropped.
// - Fetching happens only on the control thread's io_context, once `start(io)` has been called
//   (the server does so at start; `stop()` at shutdown cancels timers and fetches). A source
//   created after start begins fetching at once. (A download in flight at stop() is abandoned:
//   the refresh loop ends at once; the request itself ends by its own `timeout` and its result
//   is discarded.) `start`/`stop` are called on the control thread (stop() from elsewhere
//   takes effect on the control io_context's next turn).
// - Freshness: the response's Cache-Control (s-maxage, then max-age; no-cache / no-store = 0)
//   clamped to [min_refresh_interval, max_refresh_interval]; `default_max_age` when it has none.
//   A background refresh runs when the set goes stale. A failed fetch (network, status other than
//   200, body that `auth::parse_jwks` rejects) keeps the last good set, is logged and counted,
//   and is retried with back-off (min_refresh_interval doubling up to max_refresh_interval).
// - `keys()` is a lock-free read of the current set from any worker (null until the first good
//   fetch). `on_unknown_kid()` may be called by any worker for a token whose kid the current set
//   lacks: it asks the control thread for an immediate refresh, at most once per
//   `min_refresh_interval` (further calls in that window are counted and ignored), so a flood of
//   made-up kids costs at most one fetch per interval.
// - Counters for the admin /status (`all_status()`): per uri: fetches ok / failed, last error,
//   key count, unknown-kid refreshes done and suppressed, seconds since the last good fetch.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "auth/key.h"

namespace boost::asio {
class io_context;
}

namespace portico::filters {

struct JwksSettings {
  std::string uri;  // http:// or https://
  std::chrono::seconds default_max_age{300};
  std::chrono::seconds min_refresh_interval{10};
  std::chrono::seconds max_refresh_interval{86400};
  std::chrono::milliseconds timeout{5000};
  bool tls_verify = true;
  std::vector<std::string> ca_pems;  // empty = the system store
  bool operator==(const JwksSettings&) const = default;
};

struct JwksStatus {
  std::string uri;
  uint64_t fetches_ok = 0;
  uint64_t fetches_failed = 0;
  uint64_t unknown_kid_refreshes = 0;
  uint64_t unknown_kid_suppressed = 0;
  size_t keys = 0;
  int64_t seconds_since_good_fetch = -1;  // -1 = never
  std::string last_error;
};

class JwksSource {
 public:
  static std::shared_ptr<JwksSource> shared(const JwksSettings& settings);
  static void start(boost::asio::io_context& control);
  static void stop();
  static std::vector<JwksStatus> all_status();

  virtual ~JwksSource() = default;
  virtual std::shared_ptr<const auth::KeySet> keys() const = 0;
  virtual void on_unknown_kid() = 0;
  virtual const JwksSettings& settings() const = 0;
};

}  // namespace portico::filters
