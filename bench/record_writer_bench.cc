// The record writer: every record of every run goes through it.
#include <benchmark/benchmark.h>

#include "l7/record_json.h"

namespace {

l7::Record typicalRecord() {
  l7::Record r;
  r.start_time_us = 1'767'225'600'123'456;
  r.end_time_us = r.start_time_us + 812;
  r.flow_id = 17;
  r.ip4_0 = "10.1.0.1";
  r.ip4_1 = "10.2.0.1";
  r.client_port = 40123;
  r.server_port = 9092;
  r.l7_protocol = l7::L7Protocol::kKafka;
  r.l7_protocol_str = "Kafka";
  r.f.version = "9";
  r.f.request_type = "Produce";
  r.f.request_domain = "orders";
  r.f.request_resource = "orders-3:120044";
  r.f.endpoint = "orders-3";
  r.f.request_id = 4411;
  r.f.response_code = 0;
  r.f.response_status = l7::ResponseStatus::kOk;
  r.f.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.f.span_id = "00f067aa0ba902b7";
  r.f.x_request_id_0 = "4411";
  r.f.x_request_id_1 = "4411";
  r.f.request_length = 1200;
  r.f.response_length = 64;
  r.f.attributes = {{"group_id", "billing"}};
  r.captured_request_byte = 1204;
  r.captured_response_byte = 68;
  return r;
}

void BM_RecordJson_Typical(benchmark::State& state) {
  const l7::Record r = typicalRecord();
  std::string out;
  for (auto _ : state) {
    out.clear();
    l7::appendRecordJson(r, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_RecordJson_Typical);

// Worst case: long text that is all escapes (control bytes, invalid UTF-8).
void BM_RecordJson_AllEscapes(benchmark::State& state) {
  l7::Record r = typicalRecord();
  std::string nasty;
  for (int i = 0; i < 4096; ++i) nasty.push_back(static_cast<char>(i % 2 ? 0x01 : 0xFF));
  r.f.request_resource = nasty;
  std::string out;
  for (auto _ : state) {
    out.clear();
    l7::appendRecordJson(r, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_RecordJson_AllEscapes);

}  // namespace
