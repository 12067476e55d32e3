#include "tools/gzip_ostream.h"

#include <zlib.h>

#include "absl/strings/str_cat.h"

namespace tsp::tools {

GzipStreamBuffer::~GzipStreamBuffer() {
  if (file_ != nullptr) (void)Close();
}

absl::Status GzipStreamBuffer::Open(const std::string& path) {
  path_ = path;
  file_ = gzopen(path.c_str(), "wb6");
  if (file_ == nullptr) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

bool GzipStreamBuffer::Drain() {
  const int size = static_cast<int>(pptr() - pbase());
  if (size > 0 && !failed_) {
    failed_ = file_ == nullptr || gzwrite(static_cast<gzFile>(file_), pbase(), static_cast<unsigned>(size)) != size;
  }
  setp(buffer_.data(), buffer_.data() + buffer_.size());
  return !failed_;
}

int GzipStreamBuffer::overflow(int c) {
  if (!Drain()) return traits_type::eof();
  if (c != traits_type::eof()) {
    *pptr() = static_cast<char>(c);
    pbump(1);
  }
  return traits_type::not_eof(c);
}

int GzipStreamBuffer::sync() { return Drain() ? 0 : -1; }

absl::Status GzipStreamBuffer::Close() {
  const bool drained = Drain();
  const bool closed = file_ != nullptr && gzclose(static_cast<gzFile>(file_)) == Z_OK;
  file_ = nullptr;
  if (!drained || !closed) return absl::UnavailableError(absl::StrCat("could not write all of ", path_));
  return absl::OkStatus();
}

}  // namespace tsp::tools
