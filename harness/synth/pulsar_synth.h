// Pulsar conversation generator for the synthesizer.
#pragma once

#include "synth/synthesizer.h"

namespace l7h::synth {

Generator pulsarGenerator();

}  // namespace l7h::synth
