#include <arpa/inet.h>

#include "capture/stream_events.h"

namespace l7h {

std::string IpAddress::toString() const {
  // inet_ntop writes RFC 5952 text for IPv6 (lowercase, longest zero run
  // compressed) on glibc.
  char buf[INET6_ADDRSTRLEN] = {0};
  if (v4) {
    ::inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
  } else {
    ::inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

}  // namespace l7h
