// Kafka conversation generator for the synthesizer.
#pragma once

#include "synth/synthesizer.h"

namespace l7h::synth {

Generator kafkaGenerator();

}  // namespace l7h::synth
