# Generated C++ for the few protos the gateway itself speaks (google.rpc
# details, its own options and JsonApi) and one embedded descriptor set of
# every bundled proto (tencentcloud.* are routed from descriptors only, so a
# new product costs no C++ compile).

set(PROTO_SRC_DIR ${CMAKE_SOURCE_DIR}/proto)
set(PROTO_GEN_DIR ${CMAKE_BINARY_DIR}/gen)
file(MAKE_DIRECTORY ${PROTO_GEN_DIR})
set(PROTOBUF_INCLUDE_DIR /usr/include)

# envelope_cc_proto(<root> <relative .proto> [GRPC]): protoc into PROTO_GEN_DIR.
function(envelope_cc_proto root rel out_var)
  cmake_parse_arguments(ARG "GRPC" "" "" ${ARGN})
  string(REGEX REPLACE "\\.proto$" "" stem ${rel})
  set(outs ${PROTO_GEN_DIR}/${stem}.pb.cc ${PROTO_GEN_DIR}/${stem}.pb.h)
  set(args --cpp_out=${PROTO_GEN_DIR})
  if(ARG_GRPC)
    list(APPEND outs ${PROTO_GEN_DIR}/${stem}.grpc.pb.cc
         ${PROTO_GEN_DIR}/${stem}.grpc.pb.h)
    list(APPEND args --grpc_out=${PROTO_GEN_DIR}
         --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN})
  endif()
  add_custom_command(
    OUTPUT ${outs}
    COMMAND protobuf::protoc ARGS -I${root} -I${PROTOBUF_INCLUDE_DIR} ${args}
            ${root}/${rel}
    DEPENDS ${root}/${rel} protobuf::protoc
    COMMENT "protoc ${rel}")
  set(${out_var} ${${out_var}} ${outs} PARENT_SCOPE)
endfunction()

set(ENVELOPE_PROTO_SRCS)
envelope_cc_proto(${GOOGLEAPIS_PROTO_DIR} google/rpc/status.proto ENVELOPE_PROTO_SRCS)
envelope_cc_proto(${GOOGLEAPIS_PROTO_DIR} google/rpc/error_details.proto ENVELOPE_PROTO_SRCS)
envelope_cc_proto(${PROTO_SRC_DIR} envelope/gateway/v1/options.proto ENVELOPE_PROTO_SRCS)
envelope_cc_proto(${PROTO_SRC_DIR} envelope/gateway/v1/json_api.proto ENVELOPE_PROTO_SRCS GRPC)
envelope_cc_proto(${PROTO_SRC_DIR} grpc/reflection/v1alpha/reflection.proto ENVELOPE_PROTO_SRCS GRPC)
envelope_cc_proto(${PROTO_SRC_DIR} grpc/reflection/v1/reflection.proto ENVELOPE_PROTO_SRCS GRPC)

add_library(envelope_protos ${ENVELOPE_PROTO_SRCS})
target_include_directories(envelope_protos PUBLIC ${PROTO_GEN_DIR})
target_link_libraries(envelope_protos PUBLIC protobuf::libprotobuf gRPC::grpc++)
target_compile_options(envelope_protos PRIVATE -w)

# The bundled descriptor set: every .proto under proto/, imports included,
# and every product version with a committed lock but no committed .proto,
# generated here from the vendored specs (docs/protogen.md, "Layout").
file(GLOB_RECURSE BUNDLED_PROTOS RELATIVE ${PROTO_SRC_DIR}
     CONFIGURE_DEPENDS ${PROTO_SRC_DIR}/*.proto)
file(GLOB_RECURSE PRODUCT_LOCKS RELATIVE ${PROTO_SRC_DIR}
     CONFIGURE_DEPENDS ${PROTO_SRC_DIR}/tencentcloud/*.lock.json)
# OFF: only the committed protos (the six products with a committed .proto),
# as before issue 14: the baseline bench/products measures against.
option(ENVELOPE_BUNDLE_ALL_PRODUCTS "bundle every product version with a lock" ON)
set(PRODUCT_GEN_DIR ${PROTO_GEN_DIR}/products)
set(GENERATED_PRODUCTS)
if(NOT ENVELOPE_BUNDLE_ALL_PRODUCTS)
  set(PRODUCT_LOCKS)
endif()
foreach(lock ${PRODUCT_LOCKS})
  string(REGEX REPLACE "\\.lock\\.json$" ".proto" rel ${lock})
  if(NOT EXISTS ${PROTO_SRC_DIR}/${rel})
    list(APPEND GENERATED_PRODUCTS ${rel})
  endif()
endforeach()
list(SORT BUNDLED_PROTOS)
list(SORT GENERATED_PRODUCTS)
list(TRANSFORM BUNDLED_PROTOS PREPEND ${PROTO_SRC_DIR}/ OUTPUT_VARIABLE BUNDLED_PROTO_PATHS)
list(TRANSFORM PRODUCT_LOCKS PREPEND ${PROTO_SRC_DIR}/ OUTPUT_VARIABLE PRODUCT_LOCK_PATHS)
list(TRANSFORM GENERATED_PRODUCTS PREPEND ${PRODUCT_GEN_DIR}/ OUTPUT_VARIABLE GENERATED_PRODUCT_PATHS)
set(SPECS_TARBALL ${CMAKE_SOURCE_DIR}/third_party/tencentcloud-specs/tccli-specs.tar.xz)
set(GENERATED_PRODUCTS_STAMP ${PRODUCT_GEN_DIR}/generated.stamp)
set(GENERATE_PRODUCTS ${CMAKE_COMMAND} -E make_directory ${PRODUCT_GEN_DIR})
if(ENVELOPE_BUNDLE_ALL_PRODUCTS)
  set(GENERATE_PRODUCTS /usr/bin/python3
      ${CMAKE_SOURCE_DIR}/tools/protogen/gen_all.py --specs ${SPECS_TARBALL}
      --locks ${PROTO_SRC_DIR}/tencentcloud --out ${PRODUCT_GEN_DIR})
endif()
add_custom_command(
  OUTPUT ${GENERATED_PRODUCTS_STAMP}
  BYPRODUCTS ${GENERATED_PRODUCT_PATHS}
  COMMAND ${GENERATE_PRODUCTS}
  COMMAND ${CMAKE_COMMAND} -E touch ${GENERATED_PRODUCTS_STAMP}
  DEPENDS ${SPECS_TARBALL} ${PRODUCT_LOCK_PATHS}
          ${CMAKE_SOURCE_DIR}/tools/protogen/gen_all.py
          ${CMAKE_SOURCE_DIR}/tools/protogen/gen_proto.py
  COMMENT "gen_all.py: product protos from the vendored specs")
set(BUNDLED_DESCRIPTOR_SET ${PROTO_GEN_DIR}/bundled_descriptors.pb)
set(BUNDLED_DESCRIPTOR_INDEX ${PROTO_GEN_DIR}/bundled_descriptors.index)
add_custom_command(
  OUTPUT ${BUNDLED_DESCRIPTOR_SET}
  COMMAND protobuf::protoc ARGS -I${PROTO_SRC_DIR} -I${PRODUCT_GEN_DIR}
          -I${PROTOBUF_INCLUDE_DIR}
          --include_imports --descriptor_set_out=${BUNDLED_DESCRIPTOR_SET}
          ${BUNDLED_PROTOS} ${GENERATED_PRODUCTS}
  WORKING_DIRECTORY ${PROTO_SRC_DIR}
  DEPENDS ${BUNDLED_PROTO_PATHS} ${GENERATED_PRODUCTS_STAMP} protobuf::protoc
  COMMENT "protoc bundled descriptor set")
add_custom_command(
  OUTPUT ${BUNDLED_DESCRIPTOR_INDEX}
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tools/protogen/index_descriptors.py
          ${BUNDLED_DESCRIPTOR_SET} ${BUNDLED_DESCRIPTOR_INDEX}
  DEPENDS ${BUNDLED_DESCRIPTOR_SET}
          ${CMAKE_SOURCE_DIR}/tools/protogen/index_descriptors.py
  COMMENT "index of the bundled descriptor set")
# A target of its own, so that targets of other directories (the fuzz seeds)
# can wait for the set: a custom command's output has a rule only in its
# own directory.
add_custom_target(bundled_descriptor_set
  DEPENDS ${BUNDLED_DESCRIPTOR_SET} ${BUNDLED_DESCRIPTOR_INDEX})
# Embedded with the assembler's .incbin: no multi-megabyte C array to compile.
add_library(bundled_descriptors gateway/route/bundled_descriptors.cc)
add_dependencies(bundled_descriptors bundled_descriptor_set)
target_compile_definitions(bundled_descriptors
  PRIVATE BUNDLED_DESCRIPTOR_SET_PATH="${BUNDLED_DESCRIPTOR_SET}"
          BUNDLED_DESCRIPTOR_INDEX_PATH="${BUNDLED_DESCRIPTOR_INDEX}")
set_source_files_properties(gateway/route/bundled_descriptors.cc
  PROPERTIES OBJECT_DEPENDS "${BUNDLED_DESCRIPTOR_SET};${BUNDLED_DESCRIPTOR_INDEX}")
target_include_directories(bundled_descriptors PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(bundled_descriptors PUBLIC envelope_route)

# OTLP (third_party/opentelemetry-proto): the span exporter's request and
# what it is made of (gateway/trace).
set(OTLP_PROTO_DIR ${CMAKE_SOURCE_DIR}/third_party/opentelemetry-proto)
set(OTLP_PROTO_SRCS)
foreach(rel common/v1/common resource/v1/resource trace/v1/trace
    collector/trace/v1/trace_service)
  envelope_cc_proto(${OTLP_PROTO_DIR} opentelemetry/proto/${rel}.proto
                    OTLP_PROTO_SRCS)
endforeach()
add_library(otlp_protos ${OTLP_PROTO_SRCS})
target_include_directories(otlp_protos PUBLIC ${PROTO_GEN_DIR})
target_link_libraries(otlp_protos PUBLIC protobuf::libprotobuf)
target_compile_options(otlp_protos PRIVATE -w)

# Envoy's rate limit service protocol (third_party/envoy-data-plane-api,
# trimmed): the fleet-wide limit's requests (gateway/fleet_limit).
set(RLS_PROTO_DIR ${CMAKE_SOURCE_DIR}/third_party/envoy-data-plane-api)
set(RLS_PROTO_SRCS)
foreach(rel type/v3/ratelimit_unit config/core/v3/base
    extensions/common/ratelimit/v3/ratelimit)
  envelope_cc_proto(${RLS_PROTO_DIR} envoy/${rel}.proto RLS_PROTO_SRCS)
endforeach()
envelope_cc_proto(${RLS_PROTO_DIR} envoy/service/ratelimit/v3/rls.proto
                  RLS_PROTO_SRCS GRPC)
add_library(rls_protos ${RLS_PROTO_SRCS})
target_include_directories(rls_protos PUBLIC ${PROTO_GEN_DIR})
target_link_libraries(rls_protos PUBLIC protobuf::libprotobuf gRPC::grpc++)
target_compile_options(rls_protos PRIVATE -w)
