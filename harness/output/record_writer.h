// Where records go: JSON Lines (the contract's form) or a human-readable
// table, to a file or stdout. Buffered: one write per ~512 KiB, not per record.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "l7/record.h"

namespace l7h {

class RecordWriter {
 public:
  virtual ~RecordWriter() = default;
  virtual void write(const l7::Record& record) = 0;
  // A JSON Lines writer also takes lines already serialized
  // (l7/record_json.h, as replayCaptureLines delivers them).
  virtual bool takesJsonLines() const { return false; }
  virtual void writeLine(std::string_view line) { (void)line; }
  // Pushes buffered output to the file (live mode calls it as records complete).
  virtual void flush() = 0;
  // Only false when writing failed (disk full, closed pipe).
  virtual bool ok() const = 0;
  // Why it failed (strerror), for the one line the commands print.
  virtual std::string error() const = 0;
};

enum class OutputFormat { kJsonLines, kTable };

// `path` "-" or empty means stdout. Returns nullptr and sets `error` when the
// file cannot be opened.
std::unique_ptr<RecordWriter> openRecordWriter(const std::string& path, OutputFormat format, std::string& error);

}  // namespace l7h
