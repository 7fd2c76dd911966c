# gRPC C++ and protobuf (Debian 12: libgrpc++-dev, protobuf-compiler-grpc,
# libprotobuf-dev; ./run installs them). Found: L7_HAVE_GRPC is ON and
# l7_grpc_proto_library() generates C++ from .proto files. Not found: the
# SkyWalking gRPC receiver and its tests are left out, and `serve --grpc`
# says so.
option(L7_GRPC "Build the SkyWalking gRPC receiver when gRPC C++ is found" ON)
set(L7_HAVE_GRPC OFF)
if(L7_GRPC)
  find_package(Protobuf QUIET)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(L7_GRPCPP QUIET IMPORTED_TARGET grpc++)
  endif()
  find_program(L7_GRPC_CPP_PLUGIN grpc_cpp_plugin)
  if(Protobuf_FOUND AND Protobuf_PROTOC_EXECUTABLE AND L7_GRPCPP_FOUND AND L7_GRPC_CPP_PLUGIN)
    set(L7_HAVE_GRPC ON)
    message(STATUS "gRPC ${L7_GRPCPP_VERSION}, protobuf ${Protobuf_VERSION}: SkyWalking gRPC receiver enabled")
  else()
    message(STATUS "gRPC C++ or protobuf not found (libgrpc++-dev, protobuf-compiler-grpc, libprotobuf-dev): "
                   "SkyWalking gRPC receiver left out")
  endif()
endif()

# l7_grpc_proto_library(TARGET DIR proto...): messages and service stubs of
# the .proto files in DIR (imports relative to DIR) as a static library.
function(l7_grpc_proto_library target dir)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target})
  file(MAKE_DIRECTORY ${out})
  set(sources)
  foreach(proto ${ARGN})
    get_filename_component(stem ${proto} NAME_WE)
    set(generated ${out}/${stem}.pb.cc ${out}/${stem}.pb.h ${out}/${stem}.grpc.pb.cc ${out}/${stem}.grpc.pb.h)
    add_custom_command(
      OUTPUT ${generated}
      COMMAND ${Protobuf_PROTOC_EXECUTABLE} -I ${dir} --cpp_out=${out} --grpc_out=${out}
              --plugin=protoc-gen-grpc=${L7_GRPC_CPP_PLUGIN} ${dir}/${proto}
      DEPENDS ${dir}/${proto}
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND sources ${generated})
  endforeach()
  add_library(${target} STATIC ${sources})
  # Generated code is not ours to warn about.
  target_compile_options(${target} PRIVATE -w)
  target_include_directories(${target} SYSTEM PUBLIC ${out})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf PkgConfig::L7_GRPCPP)
endfunction()
