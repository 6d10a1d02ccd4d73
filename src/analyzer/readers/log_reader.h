// LogReader: reads request logs in every supported format and hands each
// record, normalised to a LogRecord, to a RecordSink. The entry point of
// `yoloscope analyze`'s input side.
//
// Formats (auto-detected per file from its content, or forced with
// ReadOptions::input_format; docs/log-schema.md): yoloscope.v1 JSON Lines,
// CSV / TSV / Markdown tables, nvidia-smi CSV, Triton trace files; any of
// them gzip- or zstd-compressed (detected by magic bytes); "-" is stdin.
//
// Parallelism: Read() uses up to num_threads() threads, each with its own
// sink: sink_for_thread(i) is called once for every i in
// [0, num_threads()), on the calling thread, before any record is read.
//   - An uncompressed JSONL file is cut at newlines into windows
//     (ReadOptions::block_bytes) that the threads take in file order, copy
//     one at a time into a reused buffer (pread: cheaper than mapping each
//     window) and parse. A thread counts its window's newlines first (memchr
//     speed) so that windows after the first know their line numbers. The
//     RSS stays about threads x block_bytes on any file size. A file that
//     shrinks while it is read gives DataLoss (checked per window).
//   - A compressed or piped JSONL input is decompressed / read by the calling
//     thread and cut into blocks of lines that the worker threads parse.
//   - Tables, nvidia-smi and Triton files are read by one thread (sink 0).
// Files are read one after another. Each sink receives a file's records in
// increasing line order, but the records of one file are spread over the
// sinks; merging sinks (and ordering by time) is the caller's job. A sink is never called from two
// threads at once and is no longer called once Read returns.
//
// Records: string_views in a LogRecord are valid only during OnRecord.
// record.source is the path as given; record.line the 1-based line (row) in
// the (decompressed) file.
//
// Errors: malformed lines never stop a read; they are counted in ReadStats
// with the first few as "file:line: why". Read returns a non-OK Status only
// when an input cannot be used at all (missing file: NotFound; a directory,
// unreadable, corrupt or truncated compressed data: InvalidArgument /
// DataLoss): the caller exits 2. Records read before such an error have been
// delivered.
//
// Memory: no allocation per record on the JSONL path; about two
// ReadOptions::block_bytes per thread.
//
// Thread-safety: a LogReader is used by one caller thread at a time; it
// starts and joins its own worker threads inside Read.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "analyzer/readers/reader_format.h"
#include "common/status.h"
#include "reqlog/record_sink.h"

namespace yoloscope {

// --follow: keep reading files that grow (like `tail -f`), for uncompressed
// JSONL and table files. After reaching the end of every file, Read polls
// them for appended lines until `stop` becomes true or nothing new arrived
// for `idle_timeout_ms`. A file that is truncated or replaced (log rotation)
// is read again from its start. A trailing line without newline is held back
// until its newline arrives (or Read ends, when it is parsed as it is).
struct FollowOptions {
  bool enabled = false;
  // Set (from any thread) to end following; may be null (then only the
  // idle timeout ends it). Read also checks ReadOptions::cancel.
  const std::atomic<bool>* stop = nullptr;
  int64_t idle_timeout_ms = 0;  // 0 = no timeout.
  int64_t poll_interval_ms = 200;
};

struct ReadOptions {
  // "auto", "jsonl", "csv", "tsv", "markdown", "nvidia-smi" or "triton".
  std::string input_format = "auto";
  // Parsing threads; 0 = one per hardware thread, at most kDefaultMaxThreads
  // (4: about 30 MB each; explicit values up to 64).
  int threads = 0;
  // --map: schema field -> column header (tables) or JSON key (JSONL).
  std::map<std::string, std::string> column_map;
  FollowOptions follow;
  // Size of the blocks a streamed input is cut into, and of the windows a
  // mapped file is cut into: per thread, the memory the reader holds.
  size_t block_bytes = 8 << 20;
  // How many "file:line: why" examples ReadStats keeps.
  int max_examples = 5;
  // Optional: set to true (from any thread) to stop reading early; Read then
  // returns Cancelled after delivering what it has read.
  const std::atomic<bool>* cancel = nullptr;
  // Optional: Read adds the input bytes it consumes (on-disk bytes for
  // compressed files) as it goes, for a progress bar on another thread.
  std::atomic<int64_t>* progress_bytes = nullptr;
};

struct ReadStats {
  int64_t files = 0;
  int64_t bytes = 0;      // content bytes read (after decompression)
  int64_t raw_bytes = 0;  // bytes read from disk or pipe (compressed size if compressed)
  int64_t lines = 0;      // lines / table rows seen, blank ones and headers included
  int64_t records = 0;    // records delivered to sinks
  int64_t requests = 0, batches = 0, gpu_samples = 0, alerts = 0, other_records = 0;
  int64_t malformed = 0;       // lines / rows / entries skipped as unreadable
  int64_t field_errors = 0;    // records delivered with an unreadable field left unknown
  int64_t foreign_schema = 0;  // records whose "schema" is not yoloscope.v1
  int64_t writer_dropped = 0;  // sum of dropped_records: records `serve` failed to log
  // The first max_examples problems, in file order: "file:line: why"
  // (malformed lines and field errors).
  std::vector<std::string> malformed_examples;
  // Non-fatal notes: ignored table columns, --map columns not found, ...
  std::vector<std::string> warnings;
  // Records per input format name ("jsonl", "csv", ...), and files per format.
  std::map<std::string, int64_t> records_by_format;
  std::map<std::string, int64_t> files_by_format;
};

class LogReader {
 public:
  // InvalidArgument for an unknown input format or a --map naming an
  // unknown schema field.
  static StatusOr<std::unique_ptr<LogReader>> Create(const ReadOptions& options);
  ~LogReader();

  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;

  // Reads `paths` in order ("-" = stdin), delivering records to the sinks
  // (see the header comment) and adding to `stats` (which may hold counts
  // from earlier reads). InvalidArgument when `paths` is empty.
  Status Read(const std::vector<std::string>& paths,
              const std::function<RecordSink*(int thread_index)>& sink_for_thread,
              ReadStats* stats);

  int num_threads() const;

 private:
  struct Impl;
  explicit LogReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace yoloscope
