// THE list of protocols, in probe order: one line per decoder.
#include "l7/registry.h"

#include "amqp/amqp_decoder.h"
#include "kafka/kafka_decoder.h"
#include "mqtt/mqtt_decoder.h"
#include "nats/nats_decoder.h"
#include "openwire/openwire_decoder.h"
#include "pulsar/pulsar_decoder.h"
#include "zmtp/zmtp_decoder.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace l7 {

std::span<const DecoderInfo> allDecoders() noexcept {
  static const std::vector<DecoderInfo> kAll = {
      nats::natsDecoderInfo(),
      kafka::kafkaDecoderInfo(),
      mqtt::mqttDecoderInfo(),
      amqp::amqpDecoderInfo(),
      zmtp::zmtpDecoderInfo(),
      pulsar::pulsarDecoderInfo(),
      openwire::openwireDecoderInfo(),
  };
  return kAll;
}

const DecoderInfo* findDecoder(std::string_view key_or_name) noexcept {
  auto equal = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  };
  for (const DecoderInfo& info : allDecoders()) {
    if (equal(info.key, key_or_name) || equal(info.name, key_or_name)) return &info;
  }
  return nullptr;
}

}  // namespace l7
