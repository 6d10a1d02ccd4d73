# Log readers of ys_analyzer (see log_reader.h).
# Included by src/analyzer/CMakeLists.txt, which adds
# ${YS_ANALYZER_READER_SOURCES} to ys_analyzer and links
# ${YS_ANALYZER_READER_DEPS}.
find_package(simdjson REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Zstd REQUIRED)  # cmake/FindZstd.cmake

set(YS_ANALYZER_READER_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/clickhouse_source.cc
  ${CMAKE_CURRENT_LIST_DIR}/decompress_gzip_source.cc
  ${CMAKE_CURRENT_LIST_DIR}/decompress_zstd_source.cc
  ${CMAKE_CURRENT_LIST_DIR}/input_block_reader.cc
  ${CMAKE_CURRENT_LIST_DIR}/input_mapped_file.cc
  ${CMAKE_CURRENT_LIST_DIR}/input_source.cc
  ${CMAKE_CURRENT_LIST_DIR}/jsonl_parser.cc
  ${CMAKE_CURRENT_LIST_DIR}/log_reader.cc
  ${CMAKE_CURRENT_LIST_DIR}/nvidia_smi_throttle.cc
  ${CMAKE_CURRENT_LIST_DIR}/reader_fields.cc
  ${CMAKE_CURRENT_LIST_DIR}/reader_format.cc
  ${CMAKE_CURRENT_LIST_DIR}/table_columns.cc
  ${CMAKE_CURRENT_LIST_DIR}/table_parser.cc
  ${CMAKE_CURRENT_LIST_DIR}/table_transcoder.cc
  ${CMAKE_CURRENT_LIST_DIR}/table_value.cc
  ${CMAKE_CURRENT_LIST_DIR}/triton_trace_parser.cc)

set(YS_ANALYZER_READER_DEPS
  ys_common ys_reqlog ys_fleet simdjson::simdjson ZLIB::ZLIB Zstd::Zstd Threads::Threads)
