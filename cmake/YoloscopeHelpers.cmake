# yoloscope_module(NAME SOURCES ... DEPS ...): a module library `ys_<NAME>`
# with the src/ root on its include path (includes read "common/status.h").
function(yoloscope_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(ys_${name} STATIC ${ARG_SOURCES})
  target_include_directories(ys_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(ys_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  target_compile_options(ys_${name} PRIVATE -Wall -Wextra)
  set_target_properties(ys_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

# yoloscope_test(NAME SOURCES ... LIBS ... LABELS unit|integration|gpu [ENV k=v ...])
function(yoloscope_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS;ENV" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    YOLOSCOPE_MODELS_DIR="${YOLOSCOPE_MODELS_DIR}"
    YOLOSCOPE_DATA_DIR="${YOLOSCOPE_DATA_DIR}"
    YOLOSCOPE_PHOTOS_DIR="${YOLOSCOPE_PHOTO_SOURCE_DIR}"
    YOLOSCOPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    YOLOSCOPE_BINARY="$<TARGET_FILE:yoloscope>")
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  if(ARG_ENV)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${ARG_ENV}")
  endif()
endfunction()
