# yaml-cpp for the standalone GPU build (bench/gpu/CMakeLists.txt) on a host
# without the yaml-cpp dev package: the headers and static library that
# bench/gpu/prepare_carry.sh copied into ${YOLOSCOPE_GPU_DEPS_DIR}.
if(NOT TARGET yaml-cpp)
  if(NOT EXISTS "${YOLOSCOPE_GPU_DEPS_DIR}/lib/libyaml-cpp.a")
    set(yaml-cpp_FOUND FALSE)
    set(yaml-cpp_NOT_FOUND_MESSAGE
        "no ${YOLOSCOPE_GPU_DEPS_DIR}/lib/libyaml-cpp.a (run bench/gpu/prepare_carry.sh)")
    return()
  endif()
  add_library(yaml-cpp STATIC IMPORTED)
  set_target_properties(yaml-cpp PROPERTIES
    IMPORTED_LOCATION "${YOLOSCOPE_GPU_DEPS_DIR}/lib/libyaml-cpp.a"
    INTERFACE_INCLUDE_DIRECTORIES "${YOLOSCOPE_GPU_DEPS_DIR}/include")
endif()
set(yaml-cpp_FOUND TRUE)
