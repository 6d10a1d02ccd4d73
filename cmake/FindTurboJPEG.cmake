# FindTurboJPEG: libjpeg-turbo's TurboJPEG API (turbojpeg.h, libturbojpeg).
#
# Found by plain find_path/find_library, so it works through
# CMAKE_PREFIX_PATH with no pkg-config: the GPU host's build finds it in a
# bundle of extracted Debian packages (bench/gpu/prepare_carry.sh), where
# Debian's own libjpeg-turboConfig.cmake cannot be used (it names /usr/lib
# paths literally).
#
# Defines TurboJPEG_FOUND, TurboJPEG_INCLUDE_DIR, TurboJPEG_LIBRARY and the
# imported target TurboJPEG::TurboJPEG.
find_path(TurboJPEG_INCLUDE_DIR turbojpeg.h)
find_library(TurboJPEG_LIBRARY NAMES turbojpeg)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(TurboJPEG REQUIRED_VARS TurboJPEG_LIBRARY TurboJPEG_INCLUDE_DIR)
if(TurboJPEG_FOUND AND NOT TARGET TurboJPEG::TurboJPEG)
  add_library(TurboJPEG::TurboJPEG UNKNOWN IMPORTED)
  set_target_properties(TurboJPEG::TurboJPEG PROPERTIES
    IMPORTED_LOCATION "${TurboJPEG_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${TurboJPEG_INCLUDE_DIR}")
endif()
mark_as_advanced(TurboJPEG_INCLUDE_DIR TurboJPEG_LIBRARY)
