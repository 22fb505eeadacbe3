// portico: flags → server. Nothing else lives here.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "server/route_explainer.h"
#include "server/server.h"

namespace {

constexpr const char* kVersion = "0.1.0";

void usage(std::FILE* out) {
  std::fprintf(out,
               "Portico %s — an API gateway\n\n"
               "Usage:\n"
               "  portico run -c FILE [--listen ADDR:PORT]... [--admin-listen ADDR:PORT|off] [--workers N]\n"
               "  portico check -c FILE\n"
               "  portico routes -c FILE 'METHOD URL' [-H 'Name: value']...\n"
               "  portico --version | --help\n\n"
               "  -c, --config FILE     Kong declarative config (_format_version: \"3.0\") with a portico: block\n"
               "  --listen ADDR:PORT    proxy listener, \"ADDR:PORT ssl\" for TLS (repeatable; overrides portico.listen)\n"
               "  --admin-listen ADDR   admin API listener, or off (overrides portico.admin_listen)\n"
               "  --workers N           worker threads (overrides portico.workers; default: one per core)\n\n"
               "  routes                which route a request takes and why, e.g.\n"
               "                        portico routes -c kong.yaml 'GET https://api.example.com/v1/orders?x=1' -H 'x-canary: true'\n\n"
               "Signals: SIGHUP reloads the config file; SIGTERM/SIGINT drain and exit.\n",
               kVersion);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "--version" || cmd == "-v" || cmd == "version") {
    std::printf("portico %s\n", kVersion);
    return 0;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(stdout);
    return 0;
  }
  if (cmd == "routes") {
    portico::server::RouteQuery q;
    for (int i = 2; i < argc; ++i) {
      std::string a = argv[i];
      if ((a == "-c" || a == "--config" || a == "-H" || a == "--header") && i + 1 >= argc) {
        std::fprintf(stderr, "portico: %s needs a value\n", a.c_str());
        return 2;
      }
      if (a == "-c" || a == "--config") {
        q.config_path = argv[++i];
      } else if (a == "-H" || a == "--header") {
        q.headers.emplace_back(argv[++i]);
      } else if (q.request.empty() && !a.empty() && a[0] != '-') {
        q.request = a;
      } else {
        std::fprintf(stderr, "portico: unknown option '%s'\n\n", a.c_str());
        usage(stderr);
        return 2;
      }
    }
    if (q.config_path.empty() || q.request.empty()) {
      std::fprintf(stderr, "portico routes: -c FILE and a request ('GET https://host/path') are required\n");
      return 2;
    }
    return portico::server::explain_route(q);
  }
  if (cmd != "run" && cmd != "check") {
    std::fprintf(stderr, "portico: unknown command '%s'\n\n", cmd.c_str());
    usage(stderr);
    return 2;
  }
  portico::server::ServerOptions opts;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "portico: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "-c" || a == "--config") {
      opts.config_path = value("-c");
    } else if (a == "--listen" && cmd == "run") {
      opts.listen.emplace_back(value("--listen"));
    } else if (a == "--admin-listen" && cmd == "run") {
      opts.admin_listen = value("--admin-listen");
    } else if (a == "--workers" && cmd == "run") {
      const char* v = value("--workers");
      char* end = nullptr;
      long n = std::strtol(v, &end, 10);
      if (!end || *end || n < 0 || n > 1024) {
        std::fprintf(stderr, "portico: --workers expects a number from 0 to 1024\n");
        return 2;
      }
      opts.workers = static_cast<int>(n);
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "portico: unknown option '%s'\n\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (opts.config_path.empty()) {
    std::fprintf(stderr, "portico: -c FILE is required\n");
    return 2;
  }
  if (cmd == "check") return portico::server::check_config(opts.config_path);
  return portico::server::run_server(opts);
}
