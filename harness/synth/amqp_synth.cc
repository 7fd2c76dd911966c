// AMQP 0-9-1 conversations written from the specification (amqp0-9-1.xml
// and RabbitMQ's extensions); expectations follow golden/mapping/amqp.tsv and
// parsers/amqp/README.md (reply codes and their classes restated here, not
// taken from the decoder). Every method of the class list is spoken.
#include "synth/amqp_synth.h"

#include <string>
#include <vector>

#include "synth/trace_headers.h"

namespace l7h::synth {
namespace {

using l7::Direction;
using l7::MessageKind;
using l7::ResponseStatus;
constexpr Direction kC = Direction::kToServer;
constexpr Direction kS = Direction::kToClient;

std::string be(uint64_t v, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return out;
}
std::string sh(const std::string& s) { return std::string(1, static_cast<char>(s.size())) + s; }
std::string ls(const std::string& s) { return be(s.size(), 4) + s; }
std::string octet(uint8_t v) { return std::string(1, static_cast<char>(v)); }
std::string frame(uint8_t type, uint16_t channel, const std::string& payload) {
  return octet(type) + be(channel, 2) + be(payload.size(), 4) + payload + "\xCE";
}

// A field table with values of several types, nested, and the trace headers.
std::string headersTable(Rng& rng, const SynthTrace& trace) {
  std::string e;
  e += sh("retries") + "I" + be(rng.below(5), 4);
  e += sh("meta") + "F" + ls(sh("region") + "S" + ls("eu") + sh("shard") + "s" + be(7, 2));
  e += sh("list") + "A" + ls("t" + octet(1) + "l" + be(rng.next(), 8) + "V" + "D" + octet(2) + be(250, 4));
  e += sh("at") + "T" + be(1767225600, 8);
  for (const auto& [name, value] : trace.headers) e += sh(name) + "S" + ls(value);
  return ls(e);
}

struct Builder {
  ModelConversation& conv;
  std::string vhost;  // "" until Connection.Open
  std::vector<size_t> vhost_from;  // the Connection.Open's index, once sent

  ModelMessage& add(Direction dir, std::string bytes, MessageKind kind, const std::string& type) {
    ModelMessage m;
    m.dir = dir;
    m.kind = kind;
    m.fields.version = "0-9-1";
    m.fields.request_type = type;
    m.fields.request_domain = vhost;
    m.depends_on = vhost_from;
    m.fields.response_status = kind == MessageKind::kRequest ? ResponseStatus::kUnknown : ResponseStatus::kOk;
    if (kind == MessageKind::kRequest) m.fields.request_length = static_cast<int64_t>(bytes.size());
    if (kind == MessageKind::kResponse) m.fields.response_length = static_cast<int64_t>(bytes.size());
    m.bytes = std::move(bytes);
    conv.messages.push_back(std::move(m));
    return conv.messages.back();
  }
  ModelMessage& method(Direction dir, uint16_t ch, uint16_t cls, uint16_t mth, const std::string& args, MessageKind kind,
                       const std::string& type) {
    return add(dir, frame(1, ch, be(cls, 2) + be(mth, 2) + args), kind, type);
  }
  long last() const { return static_cast<long>(conv.messages.size() - 1); }
  // A synchronous request and its -Ok.
  ModelMessage& exchange(Direction dir, uint16_t ch, uint16_t cls, uint16_t mth, const std::string& args,
                         const std::string& type, uint16_t ok_mth, const std::string& ok_args, const std::string& ok_type) {
    method(dir, ch, cls, mth, args, MessageKind::kRequest, type);
    const long req = last();
    ModelMessage& ok = method(l7::reverse(dir), ch, cls, ok_mth, ok_args, MessageKind::kResponse, ok_type);
    ok.answers = req;
    return conv.messages[static_cast<size_t>(req)];
  }
  // A content-carrying method's message (not yet added: content() adds it
  // with its content).
  ModelMessage contentMethod(Direction dir, std::string bytes, MessageKind kind, const std::string& type,
                             const std::string& exchange, const std::string& rk) const {
    ModelMessage m;
    m.dir = dir;
    m.kind = kind;
    m.bytes = std::move(bytes);
    m.fields.version = "0-9-1";
    m.fields.request_type = type;
    m.fields.request_domain = vhost;
    m.depends_on = vhost_from;
    m.fields.response_status = ResponseStatus::kOk;
    if (kind == MessageKind::kResponse) m.fields.response_length = static_cast<int64_t>(m.bytes.size());
    resource(m, exchange, rk, "");
    return m;
  }
  // A close with reply 200 from the client and its -Ok: ok, code 200, the
  // text as result (§4.5).
  void normalClose(uint16_t ch, uint16_t cls, uint16_t mth, const std::string& class_name) {
    ModelMessage& close = exchange(kC, ch, cls, mth, be(200, 2) + sh("Normal shutdown") + be(0, 2) + be(0, 2),
                                   class_name + ".Close", static_cast<uint16_t>(mth + 1), "", class_name + ".CloseOk");
    close.fields.response_code = 200;
    close.fields.response_status = ResponseStatus::kOk;
    close.fields.response_result = "Normal shutdown";
    // The -Ok carries no reply: the merged record keeps the close's, which
    // the contract's merge takes from the answer, so the answer says it.
    ModelMessage& ok = conv.messages.back();
    ok.fields.response_code = 200;
    ok.fields.response_result = "Normal shutdown";
  }
  static void resource(ModelMessage& m, const std::string& exchange, const std::string& rk, const std::string& queue) {
    m.fields.request_resource = exchange.empty() && rk.empty() ? queue : exchange + "." + rk;
    m.fields.endpoint = m.fields.request_resource;
  }
  // A content-carrying method, its content header and its body (several
  // frames when large); the method takes the header's trace.
  void content(Rng& rng, Direction dir, uint16_t ch, ModelMessage&& method_msg) {
    const SynthTrace trace = randomTrace(rng, false);
    method_msg.fields.trace_id = trace.trace_id;
    method_msg.fields.trace_id_2 = trace.trace_id_2;
    method_msg.fields.span_id = trace.span_id;
    conv.messages.push_back(std::move(method_msg));
    const size_t method_index = conv.messages.size() - 1;
    const size_t size = rng.below(4) == 0 ? 0 : rng.below(rng.below(5) == 0 ? 9000 : 60);
    uint16_t flags = 0x8000 | 0x1000 | 0x0080;  // content-type, delivery-mode, message-id
    if (!trace.headers.empty() || rng.below(2)) flags |= 0x2000;
    std::string props = sh("text/plain");
    if (flags & 0x2000) props += headersTable(rng, trace);
    props += octet(2) + sh("m-" + std::to_string(rng.below(1000)));
    ModelMessage& h = add(dir, frame(2, ch, be(60, 2) + be(0, 2) + be(size, 8) + be(flags, 2) + props), MessageKind::kOneWay,
                          "Content-Header");
    h.fields.trace_id = trace.trace_id;
    h.fields.trace_id_2 = trace.trace_id_2;
    h.fields.span_id = trace.span_id;
    conv.messages[method_index].depends_on.push_back(static_cast<size_t>(last()));
    if (size == 0) return;
    std::string bodies;
    for (size_t done = 0; done < size;) {
      const size_t n = std::min<size_t>(size - done, 4088);  // frame_max 4096
      std::string data;
      for (size_t i = 0; i < n; ++i) data.push_back(static_cast<char>('a' + rng.below(26)));
      bodies += frame(3, ch, data);
      done += n;
    }
    add(dir, bodies, MessageKind::kOneWay, "Content-Body");
  }
};

const char* kExchanges[] = {"orders", "amq.topic", "logs", ""};
const char* kQueues[] = {"jobs", "orders.created", "q", "amq.gen-Xa2"};
const char* kKeys[] = {"order.created", "rk", "", "a.b.c"};

void generateAmqp(Rng& rng, const std::string&, size_t messages, ModelConversation& conv) {
  conv.endpoints.server.port = 5672;
  Builder b{conv, ""};
  b.add(kC, std::string("AMQP\0\0\x09\x01", 8), MessageKind::kOneWay, "Protocol-Header");
  const std::string props = ls(sh("product") + "S" + ls("RabbitMQ") + sh("capabilities") + "F" +
                               ls(sh("publisher_confirms") + "t" + octet(1)));
  b.exchange(kS, 0, 10, 10, octet(0) + octet(9) + props + ls("PLAIN AMQPLAIN") + ls("en_US"), "Connection.Start", 11,
             ls(sh("product") + "S" + ls("l7conform")) + sh("PLAIN") + ls(std::string("\0guest\0guest", 12)) + sh("en_US"),
             "Connection.StartOk");
  if (rng.below(4) == 0) {
    b.exchange(kS, 0, 10, 20, ls("challenge"), "Connection.Secure", 21, ls("answer"), "Connection.SecureOk");
  }
  const std::string tune = be(2047, 2) + be(4096, 4) + be(60, 2);
  b.exchange(kS, 0, 10, 30, tune, "Connection.Tune", 31, tune, "Connection.TuneOk");
  b.vhost = rng.below(2) ? "/" : "/prod";
  b.exchange(kC, 0, 10, 40, sh(b.vhost) + sh("") + octet(0), "Connection.Open", 41, sh(""), "Connection.OpenOk");
  b.vhost_from = {conv.messages.size() - 2};
  const uint16_t ch = static_cast<uint16_t>(1 + rng.below(3));
  b.exchange(kC, ch, 20, 10, sh(""), "Channel.Open", 11, ls(""), "Channel.OpenOk");

  while (conv.messages.size() < messages) {
    const std::string ex = kExchanges[rng.below(std::size(kExchanges))];
    const std::string rk = kKeys[rng.below(std::size(kKeys))];
    const std::string q = kQueues[rng.below(std::size(kQueues))];
    const bool no_wait = rng.below(6) == 0;
    switch (rng.below(24)) {
      case 0: {  // Exchange.Declare (no-wait: one-way)
        const std::string args = be(0, 2) + sh(ex) + sh("topic") + octet(no_wait ? 0x10 : 0x02) + ls("");
        if (no_wait) {
          Builder::resource(b.method(kC, ch, 40, 10, args, MessageKind::kOneWay, "Exchange.Declare"), ex, "", "");
        } else {
          Builder::resource(b.exchange(kC, ch, 40, 10, args, "Exchange.Declare", 11, "", "Exchange.DeclareOk"), ex, "", "");
        }
        break;
      }
      case 1:
        Builder::resource(b.exchange(kC, ch, 40, 20, be(0, 2) + sh(ex) + octet(0), "Exchange.Delete", 21, "", "Exchange.DeleteOk"),
                          ex, "", "");
        break;
      case 2:  // Exchange.Bind/Unbind: destination, source, routing key (§4.4: only the key is mapped)
        Builder::resource(b.exchange(kC, ch, 40, 30, be(0, 2) + sh("dst") + sh(ex) + sh(rk) + octet(0) + ls(""),
                                     "Exchange.Bind", 31, "", "Exchange.BindOk"),
                          "", rk, "");
        Builder::resource(b.exchange(kC, ch, 40, 40, be(0, 2) + sh("dst") + sh(ex) + sh(rk) + octet(0) + ls(""),
                                     "Exchange.Unbind", 51, "", "Exchange.UnbindOk"),
                          "", rk, "");
        break;
      case 3: {  // Queue.Declare
        const std::string args = be(0, 2) + sh(q) + octet(no_wait ? 0x10 : 0x08) + ls(sh("x-max-length") + "I" + be(100, 4));
        if (no_wait) {
          Builder::resource(b.method(kC, ch, 50, 10, args, MessageKind::kOneWay, "Queue.Declare"), "", "", q);
        } else {
          Builder::resource(b.exchange(kC, ch, 50, 10, args, "Queue.Declare", 11, sh(q) + be(3, 4) + be(1, 4), "Queue.DeclareOk"),
                            "", "", q);
          Builder::resource(conv.messages.back(), "", "", q);  // DeclareOk names the queue too
        }
        break;
      }
      case 4:
        Builder::resource(b.exchange(kC, ch, 50, 20, be(0, 2) + sh(q) + sh(ex) + sh(rk) + octet(0) + ls(""), "Queue.Bind", 21,
                                     "", "Queue.BindOk"),
                          ex, rk, q);
        Builder::resource(b.exchange(kC, ch, 50, 50, be(0, 2) + sh(q) + sh(ex) + sh(rk) + ls(""), "Queue.Unbind", 51, "",
                                     "Queue.UnbindOk"),
                          ex, rk, q);
        break;
      case 5:
        Builder::resource(b.exchange(kC, ch, 50, 30, be(0, 2) + sh(q) + octet(0), "Queue.Purge", 31, be(4, 4), "Queue.PurgeOk"),
                          "", "", q);
        Builder::resource(b.exchange(kC, ch, 50, 40, be(0, 2) + sh(q) + octet(0), "Queue.Delete", 41, be(0, 4), "Queue.DeleteOk"),
                          "", "", q);
        break;
      case 6:
        b.exchange(kC, ch, 60, 10, be(0, 4) + be(static_cast<uint16_t>(rng.below(100)), 2) + octet(0), "Basic.Qos", 11, "",
                   "Basic.QosOk");
        break;
      case 7:
        Builder::resource(b.exchange(kC, ch, 60, 20, be(0, 2) + sh(q) + sh("ctag-1") + octet(0) + ls(""), "Basic.Consume", 21,
                                     sh("ctag-1"), "Basic.ConsumeOk"),
                          "", "", q);
        break;
      case 8: {  // Basic.Cancel from the client, or from the broker (consumer cancel notify)
        const Direction from = rng.below(3) == 0 ? kS : kC;
        b.exchange(from, ch, 60, 30, sh("ctag-1") + octet(0), "Basic.Cancel", 31, sh("ctag-1"), "Basic.CancelOk");
        break;
      }
      case 9: case 10:  // Basic.Publish with content
        b.content(rng, kC, ch,
                  b.contentMethod(kC, frame(1, ch, be(60, 2) + be(40, 2) + be(0, 2) + sh(ex) + sh(rk) + octet(rng.below(2))),
                                  MessageKind::kOneWay, "Basic.Publish", ex, rk));
        break;
      case 11:  // Basic.Deliver with content
        b.content(rng, kS, ch,
                  b.contentMethod(kS, frame(1, ch, be(60, 2) + be(60, 2) + sh("ctag-1") + be(rng.below(1000), 8) + octet(0) +
                                                      sh(ex) + sh(rk)),
                                  MessageKind::kOneWay, "Basic.Deliver", ex, rk));
        break;
      case 12: {  // Basic.Return 312 with content
        ModelMessage m = b.contentMethod(kS, frame(1, ch, be(60, 2) + be(50, 2) + be(312, 2) + sh("NO_ROUTE") + sh(ex) + sh(rk)),
                                         MessageKind::kOneWay, "Basic.Return", ex, rk);
        m.fields.response_status = ResponseStatus::kClientError;  // 312 no-route
        m.fields.response_code = 312;
        m.fields.response_exception = "NO_ROUTE";
        b.content(rng, kS, ch, std::move(m));
        break;
      }
      case 13: {  // Basic.Get answered by GetOk (with content) or GetEmpty
        ModelMessage& get = b.method(kC, ch, 60, 70, be(0, 2) + sh(q) + octet(0), MessageKind::kRequest, "Basic.Get");
        Builder::resource(get, "", "", q);
        const long req = b.last();
        if (rng.below(3) == 0) {
          b.method(kS, ch, 60, 72, sh(""), MessageKind::kResponse, "Basic.GetEmpty").answers = req;
          break;
        }
        ModelMessage ok = b.contentMethod(
            kS, frame(1, ch, be(60, 2) + be(71, 2) + be(rng.below(1000), 8) + octet(0) + sh(ex) + sh(rk) + be(2, 4)),
            MessageKind::kResponse, "Basic.GetOk", ex, rk);
        ok.answers = req;
        b.content(rng, kS, ch, std::move(ok));
        break;
      }
      case 14: {  // acknowledgements: Ack (either side, confirms), Nack, Reject, RecoverAsync
        const Direction from = rng.below(3) == 0 ? kS : kC;
        b.method(from, ch, 60, 80, be(rng.below(100), 8) + octet(0), MessageKind::kOneWay, "Basic.Ack");
        b.method(from, ch, 60, 120, be(rng.below(100), 8) + octet(2), MessageKind::kOneWay, "Basic.Nack");
        b.method(kC, ch, 60, 90, be(rng.below(100), 8) + octet(1), MessageKind::kOneWay, "Basic.Reject");
        b.method(kC, ch, 60, 100, octet(1), MessageKind::kOneWay, "Basic.RecoverAsync");
        break;
      }
      case 15:
        b.exchange(kC, ch, 60, 110, octet(1), "Basic.Recover", 111, "", "Basic.RecoverOk");
        break;
      case 16:
        b.exchange(kC, ch, 90, 10, "", "Tx.Select", 11, "", "Tx.SelectOk");
        b.exchange(kC, ch, 90, 20, "", "Tx.Commit", 21, "", "Tx.CommitOk");
        b.exchange(kC, ch, 90, 30, "", "Tx.Rollback", 31, "", "Tx.RollbackOk");
        break;
      case 17:
        if (no_wait) {
          b.method(kC, ch, 85, 10, octet(1), MessageKind::kOneWay, "Confirm.Select");
        } else {
          b.exchange(kC, ch, 85, 10, octet(0), "Confirm.Select", 11, "", "Confirm.SelectOk");
        }
        break;
      case 18: {
        const Direction from = rng.below(2) ? kS : kC;
        b.exchange(from, ch, 20, 20, octet(1), "Channel.Flow", 21, octet(1), "Channel.FlowOk");
        break;
      }
      case 19:
        b.method(kS, 0, 10, 60, sh("low on memory"), MessageKind::kOneWay, "Connection.Blocked");
        b.method(kS, 0, 10, 61, "", MessageKind::kOneWay, "Connection.Unblocked");
        break;
      case 20:
        b.exchange(kC, 0, 10, 70, ls("new-token") + sh("refresh"), "Connection.UpdateSecret", 71, "",
                   "Connection.UpdateSecretOk");
        break;
      case 21:
        b.add(rng.below(2) ? kS : kC, frame(8, 0, ""), MessageKind::kOneWay, "Heartbeat");
        break;
      default: {  // a channel closed normally and opened again
        const uint16_t other = static_cast<uint16_t>(ch + 10);
        b.exchange(kC, other, 20, 10, sh(""), "Channel.Open", 11, ls(""), "Channel.OpenOk");
        b.normalClose(other, 20, 40, "Channel");
        break;
      }
    }
  }
  b.normalClose(0, 10, 50, "Connection");
}

bool amqpRecordShowsVersion(const l7::Record& r, const std::string& version) { return r.f.version == version; }

// Joined mid-stream (parsers/amqp/README.md): each side resynchronizes on
// its next frame. Joined after Connection.Open, no record has the vhost; a
// content whose method was before the join still gives its header and
// body records, one whose header was before it gives none (its body is
// passed over); a close's -Ok whose close was before the join is a
// response without the close's reply.
void amqpJoin(const ModelConversation& whole, size_t first, ModelConversation& rest) {
  bool open_dropped = false;
  for (size_t i = 0; i < first; ++i) open_dropped = open_dropped || whole.messages[i].fields.request_type == "Connection.Open";
  for (size_t k = 0; k < rest.messages.size(); ++k) {
    ModelMessage& m = rest.messages[k];
    if (open_dropped) m.fields.request_domain.clear();
    if (k == 0 && m.fields.request_type == "Content-Body") m.silent = true;
    if ((m.fields.request_type == "Channel.CloseOk" || m.fields.request_type == "Connection.CloseOk") && m.answers < 0) {
      m.fields.response_code.reset();
      m.fields.response_result.clear();
    }
  }
}

}  // namespace

Generator amqpGenerator() {
  Generator g{"amqp", "AMQP", l7::L7Protocol::kAmqp, {"0-9-1"}, generateAmqp, amqpRecordShowsVersion};
  g.join = amqpJoin;
  return g;
}

}  // namespace l7h::synth
