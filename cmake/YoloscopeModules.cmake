# yoloscope_check_modules(ROOT <source dir> MODULES <m>... [SKIP <m>...]):
# every listed module must have src/<m>/CMakeLists.txt under ROOT, unless it
# is in SKIP. A missing module is a configure error (it used to be skipped
# silently, which built a binary without, e.g., the analyzer). Works in
# script mode too (tests/build/ runs it with `cmake -P`).
function(yoloscope_check_modules)
  cmake_parse_arguments(ARG "" "ROOT" "MODULES;SKIP" ${ARGN})
  set(missing "")
  foreach(m IN LISTS ARG_MODULES)
    if(m IN_LIST ARG_SKIP)
      continue()
    endif()
    if(NOT EXISTS ${ARG_ROOT}/src/${m}/CMakeLists.txt)
      list(APPEND missing ${m})
    endif()
  endforeach()
  if(missing)
    message(FATAL_ERROR "module(s) missing: ${missing} (no src/<module>/CMakeLists.txt under "
                        "${ARG_ROOT}); restore them or list them in YOLOSCOPE_SKIP_MODULES")
  endif()
endfunction()
