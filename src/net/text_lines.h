// Line and token splitting for the small system files the resolver reads (/etc/hosts,
// /etc/resolv.conf): one implementation of "lines, comments stripped, blank-separated tokens".
#pragma once

#include <string_view>

namespace portico::net {

inline bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// Calls f(line) for every line of `text` with everything from the first of `comment_chars` on
// removed.
template <class F>
void for_each_line(std::string_view text, std::string_view comment_chars, F&& f) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (const size_t c = line.find_first_of(comment_chars); c != std::string_view::npos) line = line.substr(0, c);
    f(line);
  }
}

// Calls f(token) for every blank-separated token of `line`.
template <class F>
void for_each_token(std::string_view line, F&& f) {
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    size_t j = i;
    while (j < line.size() && !is_blank(line[j])) ++j;
    if (j > i) f(line.substr(i, j - i));
    i = j;
  }
}

}  // namespace portico::net
