# nlohmann/json (header-only) for the standalone GPU build on a host without
# the dev package: the headers bench/gpu/prepare_carry.sh copied into
# ${YOLOSCOPE_GPU_DEPS_DIR}/include.
if(NOT TARGET nlohmann_json::nlohmann_json)
  if(NOT EXISTS "${YOLOSCOPE_GPU_DEPS_DIR}/include/nlohmann/json.hpp")
    set(nlohmann_json_FOUND FALSE)
    set(nlohmann_json_NOT_FOUND_MESSAGE
        "no ${YOLOSCOPE_GPU_DEPS_DIR}/include/nlohmann/json.hpp (run bench/gpu/prepare_carry.sh)")
    return()
  endif()
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${YOLOSCOPE_GPU_DEPS_DIR}/include")
endif()
set(nlohmann_json_FOUND TRUE)
