# cmake -DSRC=<dir with *.jpg> -DDST=<dir> -P copy_photos.cmake
# Copies the sample photos (Debian package darknet: /usr/share/darknet/data/*.jpg).
file(GLOB _photos "${SRC}/*.jpg")
if(NOT _photos)
  message(FATAL_ERROR
    "No sample photos (*.jpg) in ${SRC}. They come from Debian's 'darknet' package: "
    "run scripts/setup.sh deps (or apt-get install darknet), or configure with "
    "-DYOLOSCOPE_PHOTO_SOURCE_DIR=<folder of .jpg files>.")
endif()
file(MAKE_DIRECTORY "${DST}")
foreach(_p IN LISTS _photos)
  get_filename_component(_name "${_p}" NAME)
  file(COPY_FILE "${_p}" "${DST}/${_name}" ONLY_IF_DIFFERENT)
endforeach()
list(LENGTH _photos _count)
message(STATUS "${_count} sample photos in ${DST}")
