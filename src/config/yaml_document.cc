#include "config/yaml_document.h"

#include <fmt/format.h>
#include <yaml.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/object_reader.h"

namespace portico::config {
namespace {

using core::ConfigNode;
using core::Mark;

// Owns the tree and the file name that every node points at, behind one shared_ptr.
struct DocumentHolder {
  std::string file;
  ConfigNode root;
};

// Maps with more keys than this get a hash index for duplicate detection; small maps (nearly all)
// are scanned, which is faster than hashing.
constexpr size_t kLinearKeyScan = 16;

constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";

Mark to_mark(const yaml_mark_t& m) {
  return Mark{static_cast<uint32_t>(m.line + 1), static_cast<uint32_t>(m.column + 1)};
}

std::string_view as_view(const yaml_char_t* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

bool is_plain_null(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

bool is_env_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// libyaml owns parser/event memory in C structs; these make sure it is released on every path.
struct Parser {
  yaml_parser_t parser;
  Parser() { yaml_parser_initialize(&parser); }
  ~Parser() { yaml_parser_delete(&parser); }
};
struct Event {
  yaml_event_t event;
  bool live = false;
  ~Event() { reset(); }
  void reset() {
    if (live) yaml_event_delete(&event);
    live = false;
  }
};

class YamlDocument {
 public:
  YamlDocument(std::string_view text, const std::string* file, core::ConfigErrors& errors,
               const YamlOptions& options)
      : text_(text), file_(file), errors_(errors), options_(options) {}

  // Returns false after recording at least one error.
  bool parse(ConfigNode& root);

 private:
  // A collection being built. Its children wait in pending_ (and map keys in pending_keys_)
  // from first_item/first_key on, and move into the node once its end is seen: one exact-size
  // allocation per collection instead of a vector growing child by child.
  struct Frame {
    ConfigNode::Kind kind;
    Mark mark;
    size_t first_item = 0;
    size_t first_key = 0;
    std::string anchor;
    size_t child_depth = 0;  // deepest finished child (1 = a scalar), aliases included
    // Maps only: the key whose value is being built.
    bool have_key = false;
    bool discard_value = false;  // the key was rejected (duplicate, merge key): drop its value
    std::string key;
    Mark key_mark;
    std::unique_ptr<std::unordered_map<std::string, Mark>> key_index;
  };
  struct Anchor {
    ConfigNode node;
    size_t nodes = 0;
    size_t depth = 0;  // levels of the anchored node (1 = a scalar)
  };
  struct PendingKey {
    std::string name;
    Mark mark;
  };

  bool handle(const yaml_event_t& event);
  bool on_scalar(const yaml_event_t& event);
  bool on_alias(const yaml_event_t& event);
  bool on_start(const yaml_event_t& event, ConfigNode::Kind kind, const yaml_char_t* anchor,
                const yaml_char_t* tag);
  bool on_end();
  // Places a finished node into its parent (or as the root).
  // `depth`: levels of `node` (1 = a scalar).
  bool attach(ConfigNode&& node, std::string_view anchor, size_t depth);
  void accept_key(std::string key, Mark mark, bool plain);
  bool substitute(std::string& text, Mark mark);
  // The YAML path of the value being built. Built only for errors: doing it per key would cost
  // a noticeable share of a large load.
  std::string current_path(bool include_top_key = true) const;
  void error(Mark mark, std::string path, std::string message) {
    errors_.add(core::ConfigError{*file_, mark, std::move(path), std::move(message)});
    failed_ = true;
  }
  void syntax_error(const yaml_parser_t& parser);

  std::string_view text_;
  const std::string* file_;
  core::ConfigErrors& errors_;
  const YamlOptions& options_;
  std::vector<Frame> stack_;
  std::vector<ConfigNode> pending_;
  std::vector<PendingKey> pending_keys_;
  std::unordered_map<std::string, Anchor> anchors_;
  std::optional<ConfigNode> root_;
  size_t documents_ = 0;
  size_t alias_nodes_ = 0;
  bool failed_ = false;
};

bool YamlDocument::parse(ConfigNode& root) {
  Parser p;
  yaml_parser_set_input_string(&p.parser, reinterpret_cast<const unsigned char*>(text_.data()),
                               text_.size());
  Event e;
  while (true) {
    if (!yaml_parser_parse(&p.parser, &e.event)) {
      syntax_error(p.parser);
      return false;
    }
    e.live = true;
    bool done = e.event.type == YAML_STREAM_END_EVENT;
    bool keep_going = handle(e.event);
    e.reset();
    if (done || !keep_going) break;
  }
  if (failed_) return false;
  root = root_ ? std::move(*root_) : ConfigNode(ConfigNode::Kind::kNull, Mark{1, 1}, file_);
  return true;
}

void YamlDocument::syntax_error(const yaml_parser_t& parser) {
  std::string problem = parser.problem != nullptr ? parser.problem : "unknown error";
  if (parser.error == YAML_MEMORY_ERROR) {
    error(Mark{}, "", "out of memory while parsing YAML");
    return;
  }
  if (parser.error == YAML_READER_ERROR) {
    // Reader errors (bad encoding) carry a byte offset, not a mark.
    Mark mark{1, 1};
    size_t end = std::min(parser.problem_offset, text_.size());
    for (size_t i = 0; i < end; ++i) {
      if (text_[i] == '\n') {
        ++mark.line;
        mark.column = 1;
      } else if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) {
        ++mark.column;
      }
    }
    error(mark, current_path(), fmt::format("invalid YAML: {}", problem));
    return;
  }
  std::string message = fmt::format("invalid YAML: {}", problem);
  if (parser.context != nullptr) {
    Mark c = to_mark(parser.context_mark);
    message += fmt::format(" ({} started at line {} column {})", parser.context, c.line, c.column);
  }
  error(to_mark(parser.problem_mark), current_path(), std::move(message));
}

bool YamlDocument::handle(const yaml_event_t& event) {
  switch (event.type) {
    case YAML_DOCUMENT_START_EVENT:
      if (++documents_ > 1) {
        error(to_mark(event.start_mark), "",
              "a second YAML document starts here; the file must hold exactly one document");
        return false;
      }
      return true;
    case YAML_SCALAR_EVENT:
      return on_scalar(event);
    case YAML_ALIAS_EVENT:
      return on_alias(event);
    case YAML_SEQUENCE_START_EVENT:
      return on_start(event, ConfigNode::Kind::kSequence, event.data.sequence_start.anchor,
                      event.data.sequence_start.tag);
    case YAML_MAPPING_START_EVENT:
      return on_start(event, ConfigNode::Kind::kMap, event.data.mapping_start.anchor,
                      event.data.mapping_start.tag);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      return on_end();
    default:
      return true;
  }
}

bool YamlDocument::on_scalar(const yaml_event_t& event) {
  const auto& s = event.data.scalar;
  Mark mark = to_mark(event.start_mark);
  std::string text(reinterpret_cast<const char*>(s.value), s.length);
  bool plain = s.style == YAML_PLAIN_SCALAR_STYLE || s.style == YAML_ANY_SCALAR_STYLE;
  std::string_view tag = as_view(s.tag);
  bool quoted = !plain;
  if (!tag.empty()) {
    if (tag == kStrTag || tag == "!") {
      quoted = true;
    } else if (tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" ||
               tag == "tag:yaml.org,2002:bool" || tag == "tag:yaml.org,2002:null") {
      quoted = false;  // typed by content, like a plain scalar
    } else {
      error(mark, current_path(), fmt::format("unsupported YAML tag '{}'", tag));
      return false;
    }
  }

  bool is_key =
      !stack_.empty() && stack_.back().kind == ConfigNode::Kind::kMap && !stack_.back().have_key;
  if (is_key && !s.anchor) {
    accept_key(std::move(text), mark, !quoted);
    return true;
  }

  ConfigNode node;
  if (!quoted && is_plain_null(text)) {
    node = ConfigNode(ConfigNode::Kind::kNull, mark, file_);
  } else {
    // On failure the text stays as written so the tree remains complete; the load fails anyway.
    if (options_.substitute_env && !is_key) substitute(text, mark);
    node = ConfigNode::scalar(std::move(text), quoted, mark, file_);
  }
  return attach(std::move(node), as_view(s.anchor), 1);
}

bool YamlDocument::on_alias(const yaml_event_t& event) {
  Mark mark = to_mark(event.start_mark);
  std::string name(as_view(event.data.alias.anchor));
  auto it = anchors_.find(name);
  if (it == anchors_.end()) {
    error(mark, current_path(),
          fmt::format("alias '*{}' refers to no anchor defined before it", name));
    return false;
  }
  // The copy lands at the current depth: the tree must stay within kMaxDepth (walking, copying
  // and freeing it recurse), whatever the parser's own nesting is.
  if (stack_.size() + it->second.depth > YamlOptions::kMaxDepth) {
    error(mark, current_path(),
          fmt::format("alias '*{}' would nest the document deeper than {} levels", name,
                      YamlOptions::kMaxDepth));
    return false;
  }
  alias_nodes_ += it->second.nodes;
  if (alias_nodes_ > options_.max_alias_nodes) {
    error(mark, current_path(),
          fmt::format("anchors and aliases copy more than {} nodes", options_.max_alias_nodes));
    return false;
  }
  ConfigNode copy = it->second.node;
  copy.set_mark(mark);
  return attach(std::move(copy), {}, it->second.depth);
}

bool YamlDocument::on_start(const yaml_event_t& event, ConfigNode::Kind kind,
                            const yaml_char_t* anchor, const yaml_char_t* tag) {
  Mark mark = to_mark(event.start_mark);
  std::string_view t = as_view(tag);
  if (!t.empty() && t != "!" &&
      t != (kind == ConfigNode::Kind::kMap ? "tag:yaml.org,2002:map" : "tag:yaml.org,2002:seq")) {
    error(mark, current_path(), fmt::format("unsupported YAML tag '{}'", t));
    return false;
  }
  if (stack_.size() >= YamlOptions::kMaxDepth) {
    error(mark, current_path(),
          fmt::format("nesting is deeper than {} levels", YamlOptions::kMaxDepth));
    return false;
  }
  Frame& frame = stack_.emplace_back();
  frame.kind = kind;
  frame.mark = mark;
  frame.first_item = pending_.size();
  frame.first_key = pending_keys_.size();
  frame.anchor = std::string(as_view(anchor));
  return true;
}

bool YamlDocument::on_end() {
  Frame& frame = stack_.back();
  ConfigNode node(frame.kind, frame.mark, file_);
  size_t n = pending_.size() - frame.first_item;
  node.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    ConfigNode& item = pending_[frame.first_item + i];
    if (frame.kind == ConfigNode::Kind::kMap) {
      PendingKey& key = pending_keys_[frame.first_key + i];
      node.append_entry(std::move(key.name), key.mark, std::move(item));
    } else {
      node.append_item(std::move(item));
    }
  }
  pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(frame.first_item), pending_.end());
  pending_keys_.erase(pending_keys_.begin() + static_cast<std::ptrdiff_t>(frame.first_key),
                      pending_keys_.end());
  std::string anchor = std::move(frame.anchor);
  const size_t depth = frame.child_depth + 1;
  stack_.pop_back();
  return attach(std::move(node), anchor, depth);
}

bool YamlDocument::attach(ConfigNode&& node, std::string_view anchor, size_t depth) {
  if (!anchor.empty()) {
    // Keeping the anchored node is a copy too: it counts against the same budget as aliases,
    // or nested anchors around one large list would multiply memory unchecked.
    Anchor& a = anchors_[std::string(anchor)];
    a.nodes = node.count_nodes();
    a.depth = depth;
    alias_nodes_ += a.nodes;
    if (alias_nodes_ > options_.max_alias_nodes) {
      error(node.mark(), current_path(),
            fmt::format("anchors and aliases copy more than {} nodes", options_.max_alias_nodes));
      return false;
    }
    a.node = node;
  }
  if (!stack_.empty()) stack_.back().child_depth = std::max(stack_.back().child_depth, depth);
  if (stack_.empty()) {
    root_ = std::move(node);
    return true;
  }
  Frame& top = stack_.back();
  if (top.kind == ConfigNode::Kind::kSequence) {
    pending_.push_back(std::move(node));
    return true;
  }
  if (!top.have_key) {
    // A key that is not a plain scalar event: an alias, a collection or an anchored scalar.
    if (!node.is_scalar()) {
      error(node.mark(), current_path(),
            fmt::format("map keys must be strings, got {}", node.type_name()));
      return false;
    }
    accept_key(node.scalar(), node.mark(), !node.quoted());
    return true;
  }
  if (!top.discard_value) {
    pending_keys_.push_back(PendingKey{std::move(top.key), top.key_mark});
    pending_.push_back(std::move(node));
  }
  top.have_key = false;
  top.discard_value = false;
  top.key.clear();
  return true;
}

void YamlDocument::accept_key(std::string key, Mark mark, bool plain) {
  Frame& top = stack_.back();
  top.have_key = true;
  top.discard_value = false;
  top.key_mark = mark;
  if (plain && key == "<<") {
    error(mark, current_path(/*include_top_key=*/false),
          "YAML merge keys ('<<') are not supported; write the fields out or alias the whole map");
    top.discard_value = true;
  } else {
    std::optional<Mark> first;
    size_t count = pending_keys_.size() - top.first_key;
    if (top.key_index) {
      auto it = top.key_index->find(key);
      if (it != top.key_index->end()) first = it->second;
    } else {
      for (size_t i = top.first_key; i < pending_keys_.size(); ++i) {
        if (pending_keys_[i].name == key) {
          first = pending_keys_[i].mark;
          break;
        }
      }
    }
    if (first) {
      error(mark, core::path_key(current_path(/*include_top_key=*/false), key),
            fmt::format("duplicate key '{}' (first defined at line {})", key, first->line));
      top.discard_value = true;
    } else if (top.key_index) {
      top.key_index->emplace(key, mark);
    } else if (count + 1 >= kLinearKeyScan) {
      top.key_index = std::make_unique<std::unordered_map<std::string, Mark>>();
      for (size_t i = top.first_key; i < pending_keys_.size(); ++i) {
        top.key_index->emplace(pending_keys_[i].name, pending_keys_[i].mark);
      }
      top.key_index->emplace(key, mark);
    }
  }
  top.key = std::move(key);
}

bool YamlDocument::substitute(std::string& text, Mark mark) {
  size_t dollar = text.find('$');
  if (dollar == std::string::npos) return true;
  std::string out(text, 0, dollar);
  bool ok = true;
  size_t i = dollar;
  while (i < text.size()) {
    char c = text[i];
    if (c != '$') {
      out += c;
      ++i;
      continue;
    }
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += c;
      ++i;
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string::npos) {
      error(mark, current_path(), "unterminated '${' in value; write '$${' for a literal '${'");
      return false;
    }
    std::string_view name(text.data() + i + 2, close - i - 2);
    if (!is_env_name(name)) {
      error(mark, current_path(),
            fmt::format("invalid environment variable name '{}' in '${{...}}' (expected "
                        "letters, digits and '_'); write '$${{' for a literal '${{'",
                        name));
      ok = false;
    } else {
      std::optional<std::string> value;
      if (options_.env) {
        value = options_.env(name);
      } else if (const char* v = std::getenv(std::string(name).c_str())) {
        value = v;
      }
      if (!value) {
        error(mark, current_path(), fmt::format("environment variable {} is not set", name));
        ok = false;
      } else {
        out += *value;
      }
    }
    i = close + 1;
  }
  if (ok) text = std::move(out);
  return ok;
}

std::string YamlDocument::current_path(bool include_top_key) const {
  std::string path;
  for (size_t k = 0; k < stack_.size(); ++k) {
    const Frame& f = stack_[k];
    if (f.kind == ConfigNode::Kind::kSequence) {
      size_t end = k + 1 < stack_.size() ? stack_[k + 1].first_item : pending_.size();
      path = core::path_index(path, end - f.first_item);
    } else if (f.have_key && (include_top_key || k + 1 != stack_.size())) {
      path = core::path_key(path, f.key);
    }
  }
  return path;
}

}  // namespace

std::shared_ptr<const core::ConfigNode> parse_yaml_document(std::string_view text,
                                                            std::string file_name,
                                                            core::ConfigErrors& errors,
                                                            const YamlOptions& options) {
  auto holder = std::make_shared<DocumentHolder>();
  holder->file = std::move(file_name);
  YamlDocument document(text, &holder->file, errors, options);
  if (!document.parse(holder->root)) return nullptr;
  return std::shared_ptr<const ConfigNode>(holder, &holder->root);
}

}  // namespace portico::config
