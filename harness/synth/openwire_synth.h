// OpenWire (ActiveMQ) conversation generator for the synthesizer.
#pragma once

#include "synth/synthesizer.h"

namespace l7h::synth {

Generator openwireGenerator();

}  // namespace l7h::synth
