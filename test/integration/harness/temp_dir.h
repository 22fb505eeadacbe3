#pragma once
// A private directory under $TMPDIR (or /tmp) removed with its contents on destruction.

#include <string>
#include <string_view>

namespace portico::integration {

class TempDir {
 public:
  TempDir();  // throws std::runtime_error if the directory cannot be made
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path (throws on failure).
  std::string write_file(std::string_view name, std::string_view content) const;
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// Whole file as a string ("" if it cannot be read).
std::string read_file(const std::string& path);

}  // namespace portico::integration
