// MQTT conversation generator for the synthesizer.
#pragma once

#include "synth/synthesizer.h"

namespace l7h::synth {

Generator mqttGenerator();

}  // namespace l7h::synth
