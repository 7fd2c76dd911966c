#include "output/record_writer.h"

#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

#include "l7/record_json.h"

namespace l7h {
namespace {

class FileSink {
 public:
  FileSink(FILE* f, bool owned) : file_(f), owned_(owned) {}
  ~FileSink() {
    if (owned_ && file_ != nullptr) std::fclose(file_);
  }
  void put(std::string_view text) {
    if (ok_ && std::fwrite(text.data(), 1, text.size(), file_) != text.size()) failed();
  }
  void flush() {
    if (ok_ && std::fflush(file_) != 0) failed();
  }
  bool ok() const { return ok_; }
  std::string error() const { return ok_ ? std::string() : std::strerror(errno_); }

 private:
  FILE* file_;
  bool owned_;
  bool ok_ = true;
  int errno_ = 0;  // why it failed, taken when it did (later calls may change errno)
  void failed() {
    ok_ = false;
    errno_ = errno;
  }
};

class JsonLinesWriter final : public RecordWriter {
 public:
  explicit JsonLinesWriter(std::unique_ptr<FileSink> sink) : sink_(std::move(sink)), buffer_(kCapacity) {}
  ~JsonLinesWriter() override { flush(); }
  void write(const l7::Record& r) override {
    // Serialized straight into the output buffer (no line built elsewhere
    // and copied), which goes out in one large write when it is full.
    const size_t bound = l7::recordJsonBound(r);
    if (used_ + bound > buffer_.size()) {
      drain();
      if (bound > buffer_.size()) buffer_.resize(bound);  // a record with huge fields
    }
    used_ = static_cast<size_t>(l7::writeRecordJson(r, buffer_.data() + used_) - buffer_.data());
  }
  bool takesJsonLines() const override { return true; }
  void writeLine(std::string_view line) override {
    if (used_ + line.size() > buffer_.size()) {
      drain();
      if (line.size() > buffer_.size()) {
        sink_->put(line);
        return;
      }
    }
    std::memcpy(buffer_.data() + used_, line.data(), line.size());
    used_ += line.size();
  }
  void flush() override {
    drain();
    sink_->flush();
  }
  bool ok() const override { return sink_->ok(); }
  std::string error() const override { return sink_->error(); }

 private:
  // Drained when the next record's bound (4 KiB plus 6 per text byte)
  // does not fit: writes of nearly 512 KiB.
  static constexpr size_t kCapacity = 512 * 1024;
  void drain() {
    sink_->put(std::string_view(buffer_.data(), used_));
    used_ = 0;
    // A buffer grown for one huge record goes back to its usual size.
    if (buffer_.size() > kCapacity) {
      buffer_.resize(kCapacity);
      buffer_.shrink_to_fit();
    }
  }
  std::unique_ptr<FileSink> sink_;
  std::vector<char> buffer_;  // sized once: a std::string's resize would zero-fill each record's bound
  size_t used_ = 0;
};

// A fixed-width table of the columns people read first, like tshark's
// one-line summaries; the JSON form stays the reference.
class TableWriter final : public RecordWriter {
 public:
  explicit TableWriter(std::unique_ptr<FileSink> sink) : sink_(std::move(sink)) {
    char line[256];
    std::snprintf(line, sizeof line, "%-17s %5s %-8s %-4s %-22s %-22s %-14s %-30s %6s %6s %10s\n", "start_time",
                  "flow", "proto", "type", "client", "server", "request_type", "resource", "status", "code",
                  "duration");
    sink_->put(line);
  }
  ~TableWriter() override { flush(); }
  void write(const l7::Record& r) override {
    const std::string client = (r.is_ipv4 ? r.ip4_0 : "[" + r.ip6_0 + "]") + ":" + std::to_string(r.client_port);
    const std::string server = (r.is_ipv4 ? r.ip4_1 : "[" + r.ip6_1 + "]") + ":" + std::to_string(r.server_port);
    std::string resource = r.f.request_resource;
    if (resource.size() > 30) resource = resource.substr(0, 27) + "...";
    const std::string code = r.f.response_code ? std::to_string(*r.f.response_code) : "-";
    char line[512];
    std::snprintf(line, sizeof line, "%-17lld %5llu %-8s %-4d %-22s %-22s %-14s %-30s %6d %6s %10lld\n",
                  static_cast<long long>(r.start_time_us), static_cast<unsigned long long>(r.flow_id),
                  r.l7_protocol_str.c_str(), static_cast<int>(r.type), client.c_str(), server.c_str(),
                  r.f.request_type.c_str(), resource.c_str(), static_cast<int>(r.f.response_status), code.c_str(),
                  static_cast<long long>(r.response_duration_us));
    sink_->put(line);
  }
  void flush() override { sink_->flush(); }
  bool ok() const override { return sink_->ok(); }
  std::string error() const override { return sink_->error(); }

 private:
  std::unique_ptr<FileSink> sink_;
};

}  // namespace

std::unique_ptr<RecordWriter> openRecordWriter(const std::string& path, OutputFormat format, std::string& error) {
  std::unique_ptr<FileSink> sink;
  if (path.empty() || path == "-") {
    sink = std::make_unique<FileSink>(stdout, false);
  } else {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
      error = path + ": " + std::strerror(errno);
      return nullptr;
    }
    sink = std::make_unique<FileSink>(f, true);
  }
  if (format == OutputFormat::kTable) return std::make_unique<TableWriter>(std::move(sink));
  return std::make_unique<JsonLinesWriter>(std::move(sink));
}

}  // namespace l7h
