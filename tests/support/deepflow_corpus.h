// DeepFlow's captures of one protocol, read where they are
// (../shared/corpus/deepflow, third-party data never copied into the
// project). Empty, after saying so, when the folder is absent: the caller
// skips its test.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>

namespace l7test {

inline std::filesystem::path deepflowCaptures(const std::string& proto) {
  const std::filesystem::path dir = std::filesystem::path(L7_SHARED_CORPUS) / proto;
  if (std::filesystem::is_directory(dir)) return dir;
  std::printf("DeepFlow %s corpus not found at %s: skipping\n", proto.c_str(), dir.c_str());
  return {};
}

}  // namespace l7test
