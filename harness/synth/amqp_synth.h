// AMQP 0-9-1 conversation generator for the synthesizer.
#pragma once

#include "synth/synthesizer.h"

namespace l7h::synth {

Generator amqpGenerator();

}  // namespace l7h::synth
