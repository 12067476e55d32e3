#ifndef TSP_TOOLS_GZIP_OSTREAM_H_
#define TSP_TOOLS_GZIP_OSTREAM_H_

// An std::ostream that writes a gzip file through zlib (Debian's zlib1g), for
// traces too large to keep as text (`tsp trace --out=FILE.json.gz`; Perfetto
// and chrome://tracing open them as they are).

#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace tsp::tools {

class GzipStreamBuffer : public std::streambuf {
 public:
  GzipStreamBuffer() : buffer_(1 << 20) { setp(buffer_.data(), buffer_.data() + buffer_.size()); }
  ~GzipStreamBuffer() override;
  GzipStreamBuffer(const GzipStreamBuffer&) = delete;
  GzipStreamBuffer& operator=(const GzipStreamBuffer&) = delete;

  // Opens `path` for writing; the error names it.
  absl::Status Open(const std::string& path);
  // Writes what is buffered and the gzip trailer; the error names the file.
  absl::Status Close();

 protected:
  int overflow(int c) override;
  int sync() override;

 private:
  bool Drain();

  void* file_ = nullptr;  // A gzFile.
  std::string path_;
  std::vector<char> buffer_;
  bool failed_ = false;
};

}  // namespace tsp::tools

#endif  // TSP_TOOLS_GZIP_OSTREAM_H_
