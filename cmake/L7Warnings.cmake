# Project-wide compile flags: strict warnings (errors in CI), optional sanitizers.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  add_compile_options(-Wall -Wextra -Wpedantic -Wshadow=local -Wno-missing-field-initializers)
else()
  # Clang does not know GCC's -Wshadow=local spelling and warns on every file.
  add_compile_options(-Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports false stringop-overflow errors for vector::insert of small
  # fixed ranges at -O3 (GCC bugs 106199, 107852); the code is bounds-correct
  # and ASan checks it in ./run test.
  add_compile_options(-Wno-stringop-overflow)
endif()
if(L7_WERROR)
  add_compile_options(-Werror)
endif()
if(L7_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(L7_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "L7_FUZZ=ON needs clang (CC=clang CXX=clang++)")
  endif()
  # Instrument everything for coverage feedback; the fuzz targets add
  # -fsanitize=fuzzer at link time. Under OSS-Fuzz (L7_FUZZ_ENGINE set) the
  # sanitizers come from $CFLAGS/$CXXFLAGS instead, whichever it builds.
  if(NOT L7_FUZZ_ENGINE)
    add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
  endif()
  # The fuzz targets' oracles and out-of-line standard-library code get no
  # coverage instrumentation (the file says why), with either engine.
  add_compile_options(-fsanitize-coverage-ignorelist=${PROJECT_SOURCE_DIR}/fuzz/coverage_ignorelist.txt)
endif()
