cmake_minimum_required(VERSION 3.25)
# cmake -DROOT=<tree> -DMODULES="a;b" -P check_modules.cmake: fails (as the
# configure step does) when a module folder is missing.
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/YoloscopeModules.cmake)
yoloscope_check_modules(ROOT ${ROOT} MODULES ${MODULES})
message(STATUS "all modules present")
