// The record oracle of the fuzz targets (record_invariants.h). Built
// without coverage instrumentation (fuzz/CMakeLists.txt): nothing here is
// code under test.
//
// The line is checked with Boost.JSON's SAX parser and a handler that looks
// only at the top-level keys: building a DOM per record was most of a fuzz
// execution's time.
#include "record_invariants.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <boost/json/basic_parser_impl.hpp>

#include "l7/record_json.h"

namespace l7fuzz {

void invariantFailed(const char* what, const std::string& line) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n%s\n", what, line.c_str());
  std::abort();
}

namespace {

// Watches the top-level object: its keys in order, the lengths of the two
// attribute arrays, the value of response_status.
class RecordShape {
 public:
  static constexpr std::size_t max_object_size = 1'000'000;
  static constexpr std::size_t max_array_size = 1'000'000;
  static constexpr std::size_t max_key_size = 1'000'000;
  static constexpr std::size_t max_string_size = 1u << 30;

  bool top_is_object = false;
  bool keys_in_order = true;
  size_t keys = 0;
  size_t names = 0, values = 0;
  int64_t status = -1;

  using ec_t = boost::system::error_code;
  using sv = boost::json::string_view;
  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_object_begin(ec_t&) {
    if (depth_ == 0) top_is_object = true;
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t, ec_t&) { return --depth_, true; }
  bool on_array_begin(ec_t&) { return ++depth_, true; }
  bool on_array_end(std::size_t n, ec_t&) {
    if (--depth_ == 1) {
      if (top_key_ == "attribute_names") names = n;
      if (top_key_ == "attribute_values") values = n;
    }
    return true;
  }
  bool on_key_part(sv s, std::size_t, ec_t&) { return key_.append(s.data(), s.size()), true; }
  bool on_key(sv s, std::size_t, ec_t&) {
    key_.append(s.data(), s.size());
    if (depth_ == 1) {
      if (keys >= l7::kRecordKeyCount || key_ != l7::kRecordKeys[keys]) keys_in_order = false;
      ++keys;
      top_key_ = key_;
    }
    key_.clear();
    return true;
  }
  bool on_string_part(sv, std::size_t, ec_t&) { return true; }
  bool on_string(sv, std::size_t, ec_t&) { return true; }
  bool on_number_part(sv, ec_t&) { return true; }
  bool on_int64(int64_t v, sv, ec_t&) { return statusValue(v), true; }
  bool on_uint64(uint64_t v, sv, ec_t&) { return statusValue(v > INT64_MAX ? -1 : static_cast<int64_t>(v)), true; }
  bool on_double(double, sv, ec_t&) { return true; }
  bool on_bool(bool, ec_t&) { return true; }
  bool on_null(ec_t&) { return true; }
  bool on_comment_part(sv, ec_t&) { return true; }
  bool on_comment(sv, ec_t&) { return true; }

 private:
  void statusValue(int64_t v) {
    if (depth_ == 1 && top_key_ == "response_status") status = v;
  }
  int depth_ = 0;
  std::string key_, top_key_;
};

bool validStatus(int64_t s) { return s == 0 || (s >= 2 && s <= 6); }

// The kinds of bytes the JSON writer escapes or validates, as bits: '"',
// '\\', other control bytes, UTF-8 sequences, and bytes that are not UTF-8
// (a stray continuation byte, or one no sequence starts with). Each takes
// its own path through the writer.
unsigned escapeClasses(std::string_view s) {
  unsigned classes = 0;
  int continuation = 0;  // bytes a UTF-8 lead byte still announces
  for (const char ch : s) {
    const auto b = static_cast<unsigned char>(ch);
    if (b >= 0x80 && b <= 0xbf && continuation > 0) {
      --continuation;
      continue;
    }
    continuation = 0;
    if (b == '"') {
      classes |= 1u;
    } else if (b == '\\') {
      classes |= 2u;
    } else if (b < 0x20 || b == 0x7f) {
      classes |= 4u;
    } else if (b >= 0xc2 && b <= 0xf4) {
      classes |= 8u;
      continuation = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : 1;
    } else if (b >= 0x80) {
      classes |= 16u;
    }
  }
  return classes;
}

unsigned recordEscapeClasses(const l7::Record& r) {
  const l7::L7Fields& f = r.f;
  unsigned classes = 0;
  for (const std::string* s :
       {&r.ip4_0, &r.ip4_1, &r.ip6_0, &r.ip6_1, &r.l7_protocol_str, &f.version, &f.request_type, &f.request_domain,
        &f.request_resource, &f.endpoint, &f.response_exception, &f.response_result, &f.trace_id, &f.trace_id_2,
        &f.span_id, &f.parent_span_id, &f.x_request_id_0, &f.x_request_id_1, &r.app_service, &r.app_instance,
        &r.observation_point, &f.events}) {
    classes |= escapeClasses(*s);
  }
  for (const l7::Attribute& a : f.attributes) classes |= escapeClasses(a.name) | escapeClasses(a.value);
  return classes;
}

}  // namespace

void checkRecordLine(const std::string& line) {
  if (line.empty() || line.back() != '\n') invariantFailed("record line does not end in a newline", line);
  boost::json::basic_parser<RecordShape> parser{boost::json::parse_options{}};
  boost::system::error_code ec;
  const size_t used = parser.write_some(false, line.data(), line.size() - 1, ec);
  const RecordShape& shape = parser.handler();
  if (ec || used != line.size() - 1 || !parser.done() || !shape.top_is_object) {
    invariantFailed("record is not a JSON object", line);
  }
  if (shape.keys != l7::kRecordKeyCount) invariantFailed("record has the wrong number of keys", line);
  if (!shape.keys_in_order) invariantFailed("record keys out of contract order", line);
  if (shape.names != shape.values) invariantFailed("attribute arrays differ in length", line);
  if (!validStatus(shape.status)) invariantFailed("response_status outside the enum", line);
}

void checkRecord(const l7::Record& record) {
  std::string line;
  l7::appendRecordJson(record, line);
  checkRecordLine(line);
}

void RecordChecker::operator()(const l7::Record& r) {
  // The first record, and each record that brings a kind of escape this
  // input has not shown yet: a fuzzed input often makes hundreds of records
  // with the same odd bytes, and parsing every one of them was most of the
  // oracle's cost.
  const unsigned classes = recordEscapeClasses(r);
  const bool parse = records_++ == 0 || (classes & ~escapes_seen_) != 0;
  escapes_seen_ |= classes;
  const auto status = static_cast<int64_t>(r.f.response_status);
  const auto type = static_cast<int>(r.type);
  const bool span_kind_ok = !r.f.span_kind || (*r.f.span_kind >= 1 && *r.f.span_kind <= 5);
  if (!parse && validStatus(status) && type >= 0 && type <= 2 && span_kind_ok) return;
  line_.clear();
  l7::appendRecordJson(r, line_);
  if (!validStatus(status)) invariantFailed("response_status outside the enum", line_);
  if (type < 0 || type > 2) invariantFailed("type outside the enum", line_);
  if (!span_kind_ok) invariantFailed("span_kind outside 1..5", line_);
  ++parsed_;
  checkRecordLine(line_);
}

}  // namespace l7fuzz
