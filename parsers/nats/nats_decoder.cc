#include "nats/nats_decoder.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "l7/resync.h"
#include "l7/tracectx.h"
#include "nats/nats_wire.h"

namespace l7::nats {
namespace {

// Pairing lanes (PairKey::lane). INFO is answered by CONNECT; each side's
// PING is answered by the other side's PONG, so the two PING spaces differ.
constexpr uint32_t kLaneHandshake = 1;
constexpr uint32_t kLaneClientPing = 2;
constexpr uint32_t kLaneServerPing = 3;

// The longest prefix the probe waits on before deciding "not NATS".
constexpr size_t kProbeWindow = 4096;

std::string_view endpointOf(std::string_view subject) {
  const size_t dot = subject.find('.');
  return dot == std::string_view::npos ? subject : subject.substr(0, dot);
}

// The text of -ERR without its single quotes: -ERR 'Unknown Protocol Operation'.
std::string_view errText(std::string_view rest) {
  if (rest.size() >= 2 && rest.front() == '\'' && rest.back() == '\'') return rest.substr(1, rest.size() - 2);
  return rest;
}

bool jsonObject(std::string_view text, boost::json::object& out) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 16;  // INFO/CONNECT are flat; deep nesting is hostile
  boost::json::value v = boost::json::parse(text, ec, {}, options);
  if (ec || !v.is_object()) return false;
  out = std::move(v.as_object());
  return true;
}

std::string stringMember(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  return std::string(it->value().as_string());
}

// The line ends at LF; a CR before it belongs to the terminator. Returns the
// LF position or npos.
size_t findLineEnd(std::string_view text, size_t limit) {
  const size_t n = std::min(text.size(), limit);
  const void* p = std::memchr(text.data(), '\n', n);
  return p == nullptr ? std::string_view::npos : static_cast<size_t>(static_cast<const char*>(p) - text.data());
}

std::string_view lineWithoutCr(std::string_view text, size_t lf) {
  std::string_view line = text.substr(0, lf);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// A line that could start the protocol after a gap: a complete, valid
// control line (INFO/CONNECT with a JSON object).
bool plausibleLine(std::string_view line) {
  ControlLine cl;
  if (parseControlLine(line, cl) != LineError::kNone) return false;
  if (cl.op == Op::kInfo || cl.op == Op::kConnect) return !cl.rest.empty() && cl.rest.front() == '{';
  if (cl.op == Op::kErr) return !cl.rest.empty() && cl.rest.front() == '\'';
  return true;
}

bool couldBeOpPrefix(std::string_view text) {
  static constexpr std::string_view kNames[] = {"INFO", "CONNECT", "PUB", "HPUB", "SUB", "UNSUB",
                                                "MSG",  "HMSG",    "PING", "PONG", "+OK", "-ERR"};
  for (std::string_view name : kNames) {
    const size_t n = std::min(name.size(), text.size());
    bool match = n > 0;
    for (size_t i = 0; i < n && match; ++i) match = std::toupper(static_cast<unsigned char>(text[i])) == name[i];
    if (match) return true;
  }
  return false;
}

class NatsDecoder final : public Decoder {
 public:
  NatsDecoder(const DecoderLimits& limits, const NatsLimits& nats) : limits_(limits), nats_(nats) {}

  FeedResult feed(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    const std::string_view text = asText(tail);
    const int d = static_cast<int>(dir);
    base_ = tail_pos;
    size_t pos = 0;
    while (pos < text.size()) {
      if (resync_[d].active()) {
        // Junk before the first plausible line is dropped without a record:
        // it is the remainder of what the gap cut, not malformed traffic.
        const Resync::Step step = resync_[d].find(Grammar(limits_), tail.subspan(pos), /*at_end=*/false);
        pos += step.offset;
        if (step.kind == Resync::Step::kWait) {
          const uint64_t need = std::min<uint64_t>(step.need, limits_.max_buffered_bytes);
          return FeedResult{static_cast<uint32_t>(pos), static_cast<uint32_t>(need), 0};
        }
        if (step.kind == Resync::Step::kNothing) return consumed(pos);
        continue;
      }
      const std::string_view rest = text.substr(pos);
      const size_t lf = findLineEnd(rest, size_t{limits_.max_line_bytes} + 2);
      if (lf == std::string_view::npos) {
        if (rest.size() <= size_t{limits_.max_line_bytes} + 1) return consumed(pos);  // need the rest of the line
        // Over the cap: report it once and drop it through its end (or
        // everything held, and keep dropping until the next line).
        const size_t end = findLineEnd(rest, rest.size());
        const size_t drop = end == std::string_view::npos ? rest.size() : end + 1;
        emitFailure(dir, sink, pos, static_cast<uint32_t>(drop), "", "control line longer than the cap");
        if (end == std::string_view::npos) resync_[d].start();
        pos += drop;
        continue;
      }
      const std::string_view line = lineWithoutCr(rest, lf);
      const size_t line_len = lf + 1;
      ControlLine cl;
      const LineError err = parseControlLine(line, cl);
      if (err != LineError::kNone) {
        const auto op = parseOp(line.substr(0, line.find_first_of(" \t")));
        emitFailure(dir, sink, pos, static_cast<uint32_t>(line_len), op ? opName(*op) : "",
                    err == LineError::kUnknownOp ? "not a NATS operation" : "malformed arguments");
        pos += line_len;
        continue;
      }
      const Step step = decodeOne(dir, cl, rest, line_len, pos, sink);
      if (step.need > 0) return FeedResult{static_cast<uint32_t>(pos), static_cast<uint32_t>(step.need), 0};
      pos += step.advance;
      if (step.skip > 0) return FeedResult{static_cast<uint32_t>(pos), 0, step.skip};
    }
    return consumed(pos);
  }

  // A line cut by the gap is lost with it, silently.
  void onGap(Direction dir, Bytes, uint64_t, MessageSink&) noexcept override { resync_[static_cast<int>(dir)].start(); }

  void onEof(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    if (tail.empty() || resync_[static_cast<int>(dir)].active()) return;
    base_ = tail_pos;
    // A message cut short by the end of the stream.
    const std::string_view text = asText(tail);
    const auto op = parseOp(text.substr(0, std::min(text.find_first_of(" \t\r\n"), text.size())));
    emitFailure(dir, sink, 0, static_cast<uint32_t>(tail.size()), op ? opName(*op) : "",
                "stream ended inside a message");
  }

 private:
  struct Step {
    size_t advance = 0;  // bytes consumed by this message
    size_t need = 0;     // >0: the tail must reach this many bytes first
    uint64_t skip = 0;   // bytes after `advance` to drop unseen
  };

  static FeedResult consumed(size_t pos) { return FeedResult{static_cast<uint32_t>(pos), 0, 0}; }

  // NATS's grammar for the resynchronization engine: a start is the
  // beginning of a line (the first byte after a gap, or after a line end)
  // holding a complete, valid control line; the line alone confirms it.
  struct Grammar final : FrameGrammar {
    explicit Grammar(const DecoderLimits& limits) : limits(limits) {}
    FrameGuess guess(Bytes data, size_t at) const noexcept override {
      if (at > 0 && data[at - 1] != '\n') return FrameGuess::no();
      const std::string_view rest = asText(data.subspan(at));
      const size_t lf = findLineEnd(rest, size_t{limits.max_line_bytes} + 2);
      if (lf == std::string_view::npos) {
        // An incomplete line: waited for if it may be an operation.
        return couldBeOpPrefix(rest) && rest.size() <= limits.max_line_bytes ? FrameGuess::needMore()
                                                                               : FrameGuess::no();
      }
      return plausibleLine(lineWithoutCr(rest, lf)) ? FrameGuess::frame(lf + 1) : FrameGuess::no();
    }
    const DecoderLimits& limits;
  };

  void fillConnectionFields(L7Fields& f) const {
    f.version = version_;
    f.request_domain = server_name_;
  }

  Message makeMessage(Direction dir, MessageKind kind, size_t offset, size_t wire_size, Op op) const {
    Message m;
    m.kind = kind;
    m.pos = base_ + offset;
    m.wire_size = static_cast<uint32_t>(wire_size);
    m.fields.request_type = std::string(opName(op));
    m.fields.response_status = kind == MessageKind::kRequest ? ResponseStatus::kUnknown : ResponseStatus::kOk;
    // Lengths: requests on the request side, responses on the response
    // side, one-way messages by who sent them (documented extension).
    const bool request_side = kind == MessageKind::kRequest ||
                              (kind == MessageKind::kOneWay && dir == Direction::kToServer);
    if (request_side) {
      m.fields.request_length = static_cast<int64_t>(wire_size);
    } else {
      m.fields.response_length = static_cast<int64_t>(wire_size);
    }
    return m;
  }

  void emit(Direction dir, MessageSink& sink, Message&& m) const {
    fillConnectionFields(m.fields);
    sink.onMessage(dir, std::move(m));
  }

  void emitFailure(Direction dir, MessageSink& sink, size_t offset, uint32_t wire_size, std::string_view request_type,
                   std::string_view reason) const {
    Message m;
    m.kind = MessageKind::kOneWay;
    m.pos = base_ + offset;
    m.wire_size = wire_size;
    m.fields.request_type = std::string(request_type);
    m.fields.response_status = ResponseStatus::kParseFailed;
    m.fields.response_exception = std::string(reason);
    emit(dir, sink, std::move(m));
  }

  Step decodeOne(Direction dir, const ControlLine& cl, std::string_view rest, size_t line_len, size_t offset,
                 MessageSink& sink) {
    switch (cl.op) {
      case Op::kInfo: {
        boost::json::object json;
        if (!jsonObject(cl.rest, json)) {
          emitFailure(dir, sink, offset, static_cast<uint32_t>(line_len), "INFO", "INFO is not a JSON object");
          return {line_len};
        }
        // The server announces itself; later INFOs (cluster updates) may
        // change nothing or only some keys.
        if (std::string v = stringMember(json, "version"); !v.empty()) version_ = std::move(v);
        if (std::string n = stringMember(json, "server_name"); !n.empty()) server_name_ = std::move(n);
        // Only the first INFO opens the handshake; an INFO after CONNECT
        // (cluster topology update) is answered by nothing.
        const bool opens_handshake = !connect_seen_ && !info_pending_;
        Message m = makeMessage(dir, opens_handshake ? MessageKind::kRequest : MessageKind::kOneWay, offset, line_len,
                                Op::kInfo);
        if (opens_handshake) {
          m.key.lane = kLaneHandshake;
          info_pending_ = true;
        }
        emit(dir, sink, std::move(m));
        return {line_len};
      }
      case Op::kConnect: {
        boost::json::object json;
        if (!jsonObject(cl.rest, json)) {
          emitFailure(dir, sink, offset, static_cast<uint32_t>(line_len), "CONNECT", "CONNECT is not a JSON object");
          return {line_len};
        }
        const bool answers = info_pending_;
        connect_seen_ = true;
        info_pending_ = false;
        Message m = makeMessage(dir, answers ? MessageKind::kResponse : MessageKind::kOneWay, offset, line_len,
                                Op::kConnect);
        if (answers) m.key.lane = kLaneHandshake;
        emit(dir, sink, std::move(m));
        return {line_len};
      }
      case Op::kPing: {
        Message m = makeMessage(dir, MessageKind::kRequest, offset, line_len, Op::kPing);
        m.key.lane = dir == Direction::kToServer ? kLaneClientPing : kLaneServerPing;
        emit(dir, sink, std::move(m));
        return {line_len};
      }
      case Op::kPong: {
        Message m = makeMessage(dir, MessageKind::kResponse, offset, line_len, Op::kPong);
        m.key.lane = dir == Direction::kToClient ? kLaneClientPing : kLaneServerPing;
        emit(dir, sink, std::move(m));
        return {line_len};
      }
      case Op::kOk:
      case Op::kSub:
      case Op::kUnsub: {
        Message m = makeMessage(dir, MessageKind::kOneWay, offset, line_len, cl.op);
        if (cl.op == Op::kSub) setSubject(m.fields, cl.args[0]);
        emit(dir, sink, std::move(m));
        return {line_len};
      }
      case Op::kErr: {
        Message m = makeMessage(dir, MessageKind::kOneWay, offset, line_len, Op::kErr);
        m.fields.response_exception = std::string(errText(cl.rest));
        emit(dir, sink, std::move(m));
        return {line_len};
      }
      case Op::kPub:
      case Op::kHpub:
      case Op::kMsg:
      case Op::kHmsg:
        return decodePayloadMessage(dir, cl, rest, line_len, offset, sink);
    }
    return {line_len};
  }

  Step decodePayloadMessage(Direction dir, const ControlLine& cl, std::string_view rest, size_t line_len,
                            size_t offset, MessageSink& sink) {
    MessageArgs args;
    messageArgs(cl, args);  // validated by parseControlLine
    const std::string_view name = opName(cl.op);
    if (args.total_bytes > limits_.max_message_bytes) {
      // Declared beyond any sane payload: report and pass over it.
      emitFailure(dir, sink, offset, static_cast<uint32_t>(line_len), name, "payload size exceeds the cap");
      return {line_len, 0, args.total_bytes + 2};
    }
    const uint64_t frame = line_len + args.total_bytes + 2;
    const uint64_t with_headers = line_len + args.header_bytes;
    // A header block we will not read is reported as the message's own
    // record with status 6 (its trace context was not parsed): dropping the
    // headers silently would look like a message that had none.
    const bool headers_over_cap =
        args.header_bytes > nats_.max_header_bytes || with_headers > limits_.max_buffered_bytes;
    if (frame > limits_.max_buffered_bytes) {
      // Too large to hold: decode the line (and the headers, if under the
      // cap), then skip the payload unseen, to the next operation.
      if (headers_over_cap) {
        emit(dir, sink, headerCapFailure(dir, cl.op, args, offset, frame));
        return {line_len, 0, args.total_bytes + 2};
      }
      if (args.header_bytes > 0) {
        if (rest.size() < with_headers) return {0, static_cast<size_t>(with_headers), 0};
        Message m = payloadMessage(dir, cl.op, args, offset, frame);
        applyHeaders(rest.substr(line_len, args.header_bytes), m);
        emit(dir, sink, std::move(m));
        return {static_cast<size_t>(with_headers), 0, args.total_bytes - args.header_bytes + 2};
      }
      Message m = payloadMessage(dir, cl.op, args, offset, frame);
      emit(dir, sink, std::move(m));
      return {line_len, 0, args.total_bytes + 2};
    }
    if (rest.size() < frame) return {0, static_cast<size_t>(frame), 0};
    const std::string_view terminator = rest.substr(line_len + args.total_bytes, 2);
    if (terminator != "\r\n") {
      // The declared size does not match the payload: report the line and
      // go on with the next line (each line that is not NATS is reported).
      emitFailure(dir, sink, offset, static_cast<uint32_t>(line_len), name, "payload size does not match its CRLF");
      return {line_len};
    }
    // The whole message is here and its framing checked: a header block
    // over the cap is reported the same way, unread.
    if (headers_over_cap) {
      emit(dir, sink, headerCapFailure(dir, cl.op, args, offset, frame));
      return {static_cast<size_t>(frame)};
    }
    Message m = payloadMessage(dir, cl.op, args, offset, frame);
    if (args.header_bytes > 0) applyHeaders(rest.substr(line_len, args.header_bytes), m);
    emit(dir, sink, std::move(m));
    return {static_cast<size_t>(frame)};
  }

  Message headerCapFailure(Direction dir, Op op, const MessageArgs& args, size_t offset, uint64_t frame) const {
    Message m = payloadMessage(dir, op, args, offset, frame);
    m.fields.response_status = ResponseStatus::kParseFailed;
    m.fields.response_exception = "header block larger than the cap";
    return m;
  }

  Message payloadMessage(Direction dir, Op op, const MessageArgs& args, size_t offset, uint64_t frame) const {
    Message m = makeMessage(dir, MessageKind::kOneWay, offset, static_cast<size_t>(frame), op);
    setSubject(m.fields, args.subject);
    return m;
  }

  static void setSubject(L7Fields& f, std::string_view subject) {
    f.request_resource = std::string(subject);
    f.endpoint = std::string(endpointOf(subject));
  }

  // NATS headers are multi-valued; a reader takes the first value of a name.
  // Names are compared case-insensitively here, so `Traceparent` and
  // `traceparent` are one header.
  static void applyHeaders(std::string_view block, Message& m) {
    bool seen_sw8 = false;
    bool seen_traceparent = false;
    const bool ok = forEachHeader(block, [&](std::string_view name, std::string_view value) {
      auto is = [&](std::string_view want) {
        return name.size() == want.size() &&
               std::equal(name.begin(), name.end(), want.begin(),
                          [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
      };
      if (is("sw8") && !seen_sw8) {
        seen_sw8 = true;
        tracectx::applyTraceHeader(name, value, m.fields);
      } else if (is("traceparent") && !seen_traceparent) {
        seen_traceparent = true;
        tracectx::applyTraceHeader(name, value, m.fields);
      }
    });
    if (!ok) {
      m.fields.response_status = ResponseStatus::kParseFailed;
      m.fields.response_exception = "header block is not NATS/1.0";
    }
  }

  DecoderLimits limits_;
  NatsLimits nats_;
  std::string version_;
  std::string server_name_;
  bool connect_seen_ = false;
  bool info_pending_ = false;
  uint64_t base_ = 0;  // stream position of the span being decoded
  // A complete plausible control line confirms a start.
  Resync resync_[2] = {Resync(ResyncRules{1, UINT32_MAX}), Resync(ResyncRules{1, UINT32_MAX})};
};

std::unique_ptr<Decoder> createNats(const DecoderLimits& limits) { return createNatsDecoder(limits); }

constexpr uint16_t kNatsPorts[] = {4222};
// Client protocol 0 (no headers) and 1 (HPUB/HMSG headers).
constexpr std::string_view kNatsVersions[] = {"0", "1"};

}  // namespace

std::unique_ptr<Decoder> createNatsDecoder(const DecoderLimits& limits, const NatsLimits& nats) {
  return std::make_unique<NatsDecoder>(limits, nats);
}

ProbeVerdict probeNats(Bytes first_bytes) noexcept {
  const std::string_view text = asText(first_bytes);
  const size_t lf = findLineEnd(text, kProbeWindow);
  if (lf == std::string_view::npos) {
    if (text.size() >= kProbeWindow || !couldBeOpPrefix(text)) return ProbeVerdict::kNo;
    return ProbeVerdict::kNeedMore;
  }
  const std::string_view line = lineWithoutCr(text, lf);
  if (!plausibleLine(line)) return ProbeVerdict::kNo;
  ControlLine cl;
  parseControlLine(line, cl);
  switch (cl.op) {
    case Op::kInfo:
    case Op::kMsg:
    case Op::kHmsg:
    case Op::kOk:
    case Op::kErr:
      return ProbeVerdict::kFromServer;
    case Op::kConnect:
    case Op::kPub:
    case Op::kHpub:
    case Op::kSub:
    case Op::kUnsub:
      return ProbeVerdict::kFromClient;
    case Op::kPing:
    case Op::kPong:
      return ProbeVerdict::kNo;  // either side sends them: leave it to the port
  }
  return ProbeVerdict::kNo;
}

const DecoderInfo& natsDecoderInfo() {
  static const DecoderInfo info{L7Protocol::kNats, "NATS", "nats", kNatsPorts, probeNats, createNats, kNatsVersions};
  return info;
}

}  // namespace l7::nats
