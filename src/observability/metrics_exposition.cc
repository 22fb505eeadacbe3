#include "observability/metrics_exposition.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "core/ascii.h"

namespace portico::observability {
namespace {

using core::iequals;
constexpr auto trim = core::trim_ows;

void append_help(std::string& out, std::string_view help, bool escape_quotes) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
    fmt::format_to(std::back_inserter(out), "{}", static_cast<int64_t>(v));
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

ExpositionFormat negotiate_format(std::string_view accept) {
  double open_q = -1;
  double text_q = -1;
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    size_t semi = item.find(';');
    std::string_view type = trim(item.substr(0, semi));
    double q = 1;
    bool version_ok = true;
    std::string_view params = semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1);
    while (!params.empty()) {
      size_t next = params.find(';');
      std::string_view p = trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
      size_t eq = p.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view key = trim(p.substr(0, eq));
      std::string_view val = trim(p.substr(eq + 1));
      if (iequals(key, "q")) {
        q = std::strtod(std::string(val).c_str(), nullptr);
      } else if (iequals(key, "version")) {
        version_ok = val == "1.0.0";
      }
    }
    if (iequals(type, "application/openmetrics-text")) {
      if (version_ok && q > open_q) open_q = q;
    } else if (iequals(type, "text/plain") || iequals(type, "*/*") || iequals(type, "text/*")) {
      if (q > text_q) text_q = q;
    }
  }
  return open_q > 0 && open_q >= text_q ? ExpositionFormat::kOpenMetrics : ExpositionFormat::kPrometheusText;
}

void append_escaped_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

void write_exposition(const std::vector<MetricFamily>& families, ExpositionFormat format, std::string& out) {
  const bool om = format == ExpositionFormat::kOpenMetrics;
  for (const MetricFamily& f : families) {
    std::string_view declared = f.name;
    std::string_view sample_base = f.name;
    std::string with_total;
    if (om && f.type == MetricType::kCounter) {
      if (declared.ends_with("_total")) {
        declared.remove_suffix(6);
      } else {
        with_total = f.name + "_total";
        sample_base = with_total;
      }
    }
    out += "# HELP ";
    out += declared;
    out += ' ';
    append_help(out, f.help, om);
    out += "\n# TYPE ";
    out += declared;
    out += ' ';
    out += type_name(f.type);
    out += '\n';
    for (const Sample& s : f.samples) {
      out += sample_base;
      out += s.suffix;
      if (!s.labels.empty()) {
        out += '{';
        bool first = true;
        for (const auto& [k, v] : s.labels) {
          if (!first) out += ',';
          first = false;
          out += k;
          out += "=\"";
          append_escaped_label_value(out, v);
          out += '"';
        }
        out += '}';
      }
      out += ' ';
      append_value(out, s.value);
      out += '\n';
    }
  }
  if (om) out += "# EOF\n";
}

}  // namespace portico::observability
