#include "analyzer/readers/log_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>

#include "analyzer/readers/input_block_reader.h"
#include "analyzer/readers/input_mapped_file.h"
#include "analyzer/readers/input_source.h"
#include "analyzer/readers/jsonl_parser.h"
#include "analyzer/readers/table_columns.h"
#include "analyzer/readers/table_parser.h"
#include "analyzer/readers/table_transcoder.h"
#include "analyzer/readers/table_value.h"
#include "analyzer/readers/triton_trace_parser.h"
#include "fleet/clickhouse_uri.h"

namespace yoloscope {
namespace {

constexpr size_t kPadding = JsonlParser::kPadding;
constexpr size_t kSniffBytes = 64 * 1024;
// Files smaller than this are parsed by one thread (splitting costs more).
constexpr size_t kMinParallelFileBytes = 1 << 20;
constexpr int kMaxThreads = 64;
constexpr int kDefaultMaxThreads = 4;

static_assert(TritonTraceParser::kPadding <= kPadding);
static_assert(InputBlockReader::kPadding >= kPadding);

struct Problem {
  int file_index = 0;
  int64_t line = 0;
  std::string text;  // "file:line: why"
};

// Everything one parsing thread owns.
struct ThreadState {
  std::unique_ptr<JsonlParser> jsonl;
  RecordSink* sink = nullptr;
  LogRecord record;
  ReadStats stats;             // counts only; merged into the caller's stats at the end.
  int64_t format_records = 0;  // records of the current file
  std::vector<Problem> problems;
  std::vector<char> scratch;  // a padded copy of a line near the end of a buffer.
  int max_examples = 5;

  void AddProblem(int file_index, std::string_view source, int64_t line, std::string_view why) {
    if (static_cast<int>(problems.size()) >= max_examples) return;
    std::string text;
    text.reserve(source.size() + why.size() + 24);
    text.append(source);
    text.push_back(':');
    text.append(std::to_string(line));
    text.append(": ");
    text.append(why);
    problems.push_back(Problem{file_index, line, std::move(text)});
  }

  void Deliver(const LogRecord& r) {
    switch (r.kind) {
      case RecordKind::kRequest:
        ++stats.requests;
        break;
      case RecordKind::kBatch:
        ++stats.batches;
        break;
      case RecordKind::kGpu:
        ++stats.gpu_samples;
        break;
      case RecordKind::kAlert:
        ++stats.alerts;
        break;
      case RecordKind::kStream:  // a video stream's counters (read by the aggregator)
      case RecordKind::kConfig:  // a model's serving setting (read by the what-if model)
      case RecordKind::kOther:
        ++stats.other_records;
        break;
    }
    if (r.dropped_records) stats.writer_dropped += *r.dropped_records;
    ++stats.records;
    ++format_records;
    sink->OnRecord(r);
  }
};

bool Cancelled(const std::atomic<bool>* flag) {
  return flag != nullptr && flag->load(std::memory_order_relaxed);
}

// Parses the JSONL lines in [begin, end); bytes up to readable_end may be
// read (padding). `first_line` is the number of the line at `begin`.
void ParseJsonlRange(const char* begin, const char* end, const char* readable_end,
                     int64_t first_line, int file_index, std::string_view source, ThreadState* ts) {
  const char* p = begin;
  int64_t line = first_line;
  JsonlParser& parser = *ts->jsonl;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* line_end = nl == nullptr ? end : nl;
    size_t len = static_cast<size_t>(line_end - p);
    if (len > 0 && p[len - 1] == '\r') --len;
    std::string_view text(p, len);
    size_t capacity = static_cast<size_t>(readable_end - p);
    if (capacity < len + kPadding) {
      if (ts->scratch.size() < len + kPadding) ts->scratch.resize(len + kPadding);
      std::memcpy(ts->scratch.data(), p, len);
      text = std::string_view(ts->scratch.data(), len);
      capacity = ts->scratch.size();
    }
    ++ts->stats.lines;
    switch (parser.Parse(text, capacity, &ts->record)) {
      case JsonlParser::Outcome::kRecord:
        ts->record.source = source;
        ts->record.line = line;
        if (parser.had_field_error()) {
          ++ts->stats.field_errors;
          ts->AddProblem(file_index, source, line, parser.why());
        }
        if (parser.foreign_schema()) ++ts->stats.foreign_schema;
        ts->Deliver(ts->record);
        break;
      case JsonlParser::Outcome::kBlank:
        break;
      case JsonlParser::Outcome::kMalformed:
        ++ts->stats.malformed;
        ts->AddProblem(file_index, source, line, parser.why());
        break;
    }
    ++line;
    p = line_end + 1;
  }
}

// Line-oriented parsing of one streamed file (JSONL or a table).
class StreamConsumer {
 public:
  virtual ~StreamConsumer() = default;
  // [data, data + size) holds whole lines; `capacity` bytes are readable.
  virtual void Consume(const char* data, size_t size, size_t capacity, int64_t first_line,
                       ThreadState* ts) = 0;
  virtual void Finish(ThreadState* ts) { (void)ts; }
  virtual void TakeWarnings(std::vector<std::string>* out) { (void)out; }
};

class JsonlConsumer final : public StreamConsumer {
 public:
  JsonlConsumer(int file_index, std::string_view source)
      : file_index_(file_index), source_(source) {}
  void Consume(const char* data, size_t size, size_t capacity, int64_t first_line,
               ThreadState* ts) override {
    ParseJsonlRange(data, data + size, data + capacity, first_line, file_index_, source_, ts);
  }

 private:
  int file_index_;
  std::string_view source_;
};

class TableConsumer final : public StreamConsumer {
 public:
  TableConsumer(std::unique_ptr<TableParser> parser, int file_index, std::string_view source)
      : parser_(std::move(parser)), file_index_(file_index), source_(source) {}

  // The first non-blank line decides the encoding: UTF-8, or GB18030 (a
  // Chinese Excel "CSV") when it is not valid UTF-8.
  std::string_view Decode(std::string_view line) {
    if (!encoding_checked_ && !TrimCell(line).empty()) {
      encoding_checked_ = true;
      if (!IsValidUtf8(line)) {
        transcoder_ = TableTranscoder::CreateGb18030();
        if (transcoder_ != nullptr) {
          warnings_.push_back("not UTF-8: read as GB18030 (GBK)");
        }
      }
    }
    // Lines that are valid UTF-8 (ASCII ones included) are left alone.
    if (transcoder_ != nullptr && !IsValidUtf8(line) && transcoder_->Convert(line, &decoded_)) {
      return decoded_;
    }
    return line;
  }

  void Consume(const char* data, size_t size, size_t capacity, int64_t first_line,
               ThreadState* ts) override {
    (void)capacity;
    const char* p = data;
    const char* end = data + size;
    int64_t line = first_line;
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      const char* line_end = nl == nullptr ? end : nl;
      size_t len = static_cast<size_t>(line_end - p);
      if (len > 0 && p[len - 1] == '\r') --len;
      ++ts->stats.lines;
      Handle(parser_->FeedLine(Decode(std::string_view(p, len)), line, &ts->record), ts);
      ++line;
      p = line_end + 1;
    }
  }

  void Finish(ThreadState* ts) override { Handle(parser_->Finish(), ts); }

  void TakeWarnings(std::vector<std::string>* out) override {
    for (std::string& w : warnings_) out->push_back(std::string(source_) + ": " + w);
    warnings_.clear();
    for (std::string& w : parser_->TakeWarnings()) {
      out->push_back(std::string(source_) + ": " + w);
    }
  }

 private:
  void Handle(TableParser::Outcome outcome, ThreadState* ts) {
    switch (outcome) {
      case TableParser::Outcome::kRecord:
        ts->record.source = source_;
        if (parser_->had_field_error()) {
          ++ts->stats.field_errors;
          ts->AddProblem(file_index_, source_, ts->record.line, parser_->why());
        }
        ts->Deliver(ts->record);
        break;
      case TableParser::Outcome::kMalformed:
        ++ts->stats.malformed;
        ts->AddProblem(file_index_, source_, parser_->why_line(), parser_->why());
        break;
      case TableParser::Outcome::kHeader:
      case TableParser::Outcome::kSkip:
      case TableParser::Outcome::kNeedMore:
        break;
    }
  }

  std::unique_ptr<TableParser> parser_;
  int file_index_;
  std::string_view source_;
  bool encoding_checked_ = false;
  std::unique_ptr<TableTranscoder> transcoder_;
  std::string decoded_;  // the current line in UTF-8, when transcoding
  std::vector<std::string> warnings_;
};

// Runs fn(i) for every i in [0, n): i > 0 on threads of their own when they
// can be started, the others (0 included) on the calling thread. Returns
// when all are done.
void RunOnThreads(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  std::vector<std::thread> started;
  std::vector<int> here = {0};
  for (int i = 1; i < n; ++i) {
    try {
      started.emplace_back(fn, i);
    } catch (const std::system_error&) {
      here.push_back(i);
    }
  }
  for (int i : here) fn(i);
  for (std::thread& t : started) t.join();
}

bool IsTable(InputFormat f) {
  return f == InputFormat::kCsv || f == InputFormat::kTsv || f == InputFormat::kMarkdown ||
         f == InputFormat::kNvidiaSmi;
}

}  // namespace

struct LogReader::Impl {
  ReadOptions options;
  InputFormat forced_format = InputFormat::kAuto;
  int threads = 1;

  std::vector<std::unique_ptr<ThreadState>> states;
  std::vector<std::string> warnings;
  int64_t raw_bytes = 0;  // streamed inputs, counted by the reading thread

  // One file being read (and maybe followed).
  struct OpenFile {
    int index = 0;
    std::string path;
    InputFormat format = InputFormat::kAuto;
    std::unique_ptr<InputSource> source;
    std::unique_ptr<InputBlockReader> reader;
    std::unique_ptr<StreamConsumer> consumer;
    std::vector<char> buffer;
    int64_t reported_raw = 0;  // raw bytes already added to progress/stats
  };

  Status Init(const std::function<RecordSink*(int)>& sink_for_thread) {
    states.clear();
    for (int i = 0; i < threads; ++i) {
      auto ts = std::make_unique<ThreadState>();
      YS_ASSIGN_OR_RETURN(ts->jsonl, JsonlParser::Create(options.column_map));
      ts->sink = sink_for_thread(i);
      if (ts->sink == nullptr) {
        return InvalidArgumentError("sink_for_thread(" + std::to_string(i) + ") returned null");
      }
      ts->max_examples = options.max_examples;
      states.push_back(std::move(ts));
    }
    return Status::Ok();
  }

  void AddProgress(int64_t raw) {
    if (options.progress_bytes != nullptr && raw > 0) {
      options.progress_bytes->fetch_add(raw, std::memory_order_relaxed);
    }
  }

  // Adds a file's raw-byte progress since the last report.
  void ReportRaw(OpenFile* f) {
    const int64_t raw = f->source->raw_bytes_read();
    AddProgress(raw - f->reported_raw);
    raw_bytes += raw - f->reported_raw;
    f->reported_raw = raw;
  }

  int64_t TakeFormatRecords() {
    int64_t n = 0;
    for (auto& ts : states) {
      n += ts->format_records;
      ts->format_records = 0;
    }
    return n;
  }

  StatusOr<std::unique_ptr<OpenFile>> OpenStream(int index, const std::string& path) {
    auto f = std::make_unique<OpenFile>();
    f->index = index;
    f->path = path;
    YS_ASSIGN_OR_RETURN(f->source, InputSource::Open(path));
    f->format = forced_format;
    if (f->format == InputFormat::kAuto) {
      YS_ASSIGN_OR_RETURN(std::string_view head, f->source->Peek(kSniffBytes));
      f->format = DetectInputFormat(head, path);
    }
    return f;
  }

  // Builds the line consumer of a JSONL or table file.
  Status MakeConsumer(OpenFile* f) {
    if (IsTable(f->format)) {
      YS_ASSIGN_OR_RETURN(auto parser, TableParser::Create(f->format, options.column_map));
      f->consumer = std::make_unique<TableConsumer>(std::move(parser), f->index, f->path);
    } else {
      f->consumer = std::make_unique<JsonlConsumer>(f->index, f->path);
    }
    f->reader = std::make_unique<InputBlockReader>(f->source.get(), options.block_bytes);
    return Status::Ok();
  }

  // Reads everything currently available from a streamed file on thread 0.
  // Returns whether any bytes were consumed.
  StatusOr<bool> PumpSingle(OpenFile* f) {
    ThreadState* ts = states[0].get();
    bool any = false;
    while (!Cancelled(options.cancel)) {
      YS_ASSIGN_OR_RETURN(InputBlockReader::Block block, f->reader->Next(&f->buffer));
      ReportRaw(f);
      if (block.size == 0) break;
      any = true;
      ts->stats.bytes += static_cast<int64_t>(block.size);
      f->consumer->Consume(f->buffer.data(), block.size, f->buffer.size(), block.first_line, ts);
    }
    return any;
  }

  // A streamed JSONL input parsed by all threads: this thread reads blocks,
  // the workers parse them.
  Status PumpParallel(OpenFile* f) {
    struct Item {
      size_t buffer;
      InputBlockReader::Block block;
    };
    const size_t num_buffers = static_cast<size_t>(threads) * 2;
    std::vector<std::vector<char>> buffers(num_buffers);
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Item> work;
    std::vector<size_t> free_buffers;
    for (size_t i = 0; i < num_buffers; ++i) free_buffers.push_back(i);
    bool done = false;

    std::vector<std::thread> workers;
    workers.reserve(static_cast<size_t>(threads));
    auto worker = [&](int t) {
      ThreadState* ts = states[static_cast<size_t>(t)].get();
      JsonlConsumer consumer(f->index, f->path);
      for (;;) {
        Item item;
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return !work.empty() || done; });
          if (work.empty()) return;
          item = work.front();
          work.pop_front();
        }
        std::vector<char>& buf = buffers[item.buffer];
        ts->stats.bytes += static_cast<int64_t>(item.block.size);
        consumer.Consume(buf.data(), item.block.size, buf.size(), item.block.first_line, ts);
        {
          std::lock_guard<std::mutex> lock(mu);
          free_buffers.push_back(item.buffer);
        }
        cv.notify_all();
      }
    };
    for (int t = 0; t < threads; ++t) {
      try {
        workers.emplace_back(worker, t);
      } catch (const std::system_error&) {
        break;  // run with the workers that did start
      }
    }
    if (workers.empty()) return PumpSingle(f).status();

    Status status;
    while (!Cancelled(options.cancel)) {
      size_t index;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return !free_buffers.empty(); });
        index = free_buffers.back();
        free_buffers.pop_back();
      }
      StatusOr<InputBlockReader::Block> block = f->reader->Next(&buffers[index]);
      ReportRaw(f);
      if (!block.ok() || block->size == 0) {
        if (!block.ok()) status = block.status();
        std::lock_guard<std::mutex> lock(mu);
        free_buffers.push_back(index);
        break;
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        work.push_back(Item{index, *block});
      }
      cv.notify_all();
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      done = true;
    }
    cv.notify_all();
    for (std::thread& w : workers) w.join();
    return status;
  }

  // An uncompressed JSONL file, cut into windows of about block_bytes:
  // window i holds the lines that start in [i * block_bytes, (i + 1) *
  // block_bytes), so each thread finds its own window's bounds (two small
  // preads) and nothing scans the file ahead of the parsers. Threads take
  // windows in file order (an atomic counter); a thread reads its window,
  // counts its newlines (memchr speed) and publishes the count, then waits
  // until the windows before it are counted (a few ms at most), which gives
  // its first line number, and parses it. A thread copies its window into
  // one reused buffer (pread, InputMappedFile::ReadInto) rather than mapping
  // it: on a cached 1 GB log the mappings (page tables, TLB misses on 4 KiB
  // pages, munmap) cost ~30% of the readers' CPU. Memory stays at one window
  // buffer per thread, and the load balances itself.
  Status ReadMappedJsonl(int index, const std::string& path) {
    YS_ASSIGN_OR_RETURN(auto file, InputMappedFile::Open(path));
    const size_t size = file->size();
    if (size == 0) return Status::Ok();
    const size_t block = options.block_bytes;
    const size_t windows = (size + block - 1) / block;
    const int workers =
        size < kMinParallelFileBytes
            ? 1
            : static_cast<int>(std::min<size_t>(windows, static_cast<size_t>(threads)));

    std::atomic<size_t> next_window{0};
    std::mutex mu;
    std::condition_variable cv;
    std::vector<int64_t> counts(windows, -1);         // newlines per window, -1 = not yet
    std::vector<int64_t> first_line(windows + 1, 1);  // valid up to `prefix_ready`
    size_t prefix_ready = 0;
    bool abort = false;  // a window could not be read: everyone stops
    Status error;        // why, unless cancelled

    // Reads window i into the thread's buffer, after checking that the file
    // still holds it.
    auto map_window = [&](size_t i,
                          InputMappedFile::ReadBuffer* buffer) -> StatusOr<InputMappedFile::Window> {
      file->Prefetch(i * block, (i + 1) * block);  // a no-op when prefetched or cached
      YS_ASSIGN_OR_RETURN(size_t begin, file->NextLineStart(i * block));
      size_t end = size;
      if (i + 1 < windows) {
        YS_ASSIGN_OR_RETURN(end, file->NextLineStart((i + 1) * block));
      }
      if (file->ShrankBelow(end)) return DataLossError(path + ": the file shrank");
      return file->ReadInto(begin, end, kPadding, buffer);
    };

    auto worker = [&](int t) {
      ThreadState* ts = states[static_cast<size_t>(t)].get();
      InputMappedFile::ReadBuffer buffer;
      for (;;) {
        const size_t i = next_window.fetch_add(1);
        if (i >= windows) return;
        const bool cancelled = Cancelled(options.cancel);
        StatusOr<InputMappedFile::Window> window =
            cancelled ? StatusOr<InputMappedFile::Window>(CancelledError("read cancelled"))
                      : map_window(i, &buffer);
        const std::string_view text = window.ok() ? window->data() : std::string_view();
        // The window taken next after the ones being parsed now: its reads
        // overlap this window's parsing when the file is not cached.
        if (window.ok()) file->Prefetch((i + workers) * block, (i + workers + 1) * block);
        int64_t lines = 0;
        if (window.ok() && workers > 1) {
          lines = InputBlockReader::CountNewlines(text.data(), text.size());
        }
        int64_t first = 1;
        {
          std::unique_lock<std::mutex> lock(mu);
          if (!window.ok()) {
            abort = true;
            if (!cancelled && error.ok()) error = window.status();
          }
          if (workers > 1) {
            counts[i] = lines;
            while (prefix_ready < windows && counts[prefix_ready] >= 0) {
              first_line[prefix_ready + 1] = first_line[prefix_ready] + counts[prefix_ready];
              ++prefix_ready;
            }
            cv.notify_all();
            cv.wait(lock, [&] { return abort || prefix_ready >= i; });
          }
          if (abort) return;
          first = first_line[i];
        }
        const int64_t lines_before = ts->stats.lines;
        // Bytes after the window up to the end of its last page may be read
        // as padding; a line closer than that to the end of the mapping is
        // copied (ParseJsonlRange), so no page past the window is touched.
        ParseJsonlRange(text.data(), text.data() + text.size(), window->readable_end(), first,
                        index, path, ts);
        if (workers == 1) first_line[i + 1] = first + (ts->stats.lines - lines_before);
        ts->stats.bytes += static_cast<int64_t>(text.size());
        ts->stats.raw_bytes += static_cast<int64_t>(text.size());
        AddProgress(static_cast<int64_t>(text.size()));
      }  // the window is unmapped here.
    };
    RunOnThreads(workers, worker);
    if (error.code() == StatusCode::kDataLoss) {
      return DataLossError(path +
                           ": the file shrank while it was read (truncated, e.g. by "
                           "logrotate copytruncate); read it again, or use --follow");
    }
    return error;
  }

  Status ReadTriton(OpenFile* f) {
    std::vector<char> content;
    size_t size = 0;
    const int64_t hint = f->source->file_size();
    content.resize((hint > 0 ? static_cast<size_t>(hint) : (1 << 20)) + kPadding + 1);
    for (;;) {
      if (content.size() - size < kPadding + 4096) content.resize(content.size() * 2);
      YS_ASSIGN_OR_RETURN(size_t got,
                          f->source->Read(content.data() + size, content.size() - size - kPadding));
      if (got == 0) break;
      size += got;
    }
    ReportRaw(f);
    ThreadState* ts = states[0].get();
    ts->stats.bytes += static_cast<int64_t>(size);
    ts->stats.lines += InputBlockReader::CountNewlines(content.data(), size);
    YS_ASSIGN_OR_RETURN(auto parser, TritonTraceParser::Create());

    // Count the delivered records through the thread's bookkeeping.
    class CountingSink final : public RecordSink {
     public:
      explicit CountingSink(ThreadState* ts) : ts_(ts) {}
      void OnRecord(const LogRecord& record) override { ts_->Deliver(record); }

     private:
      ThreadState* ts_;
    } counting(ts);
    TritonTraceParser::Result result =
        parser->Parse(std::string_view(content.data(), size), content.size(), f->path, &counting);
    ts->stats.malformed += result.malformed;
    ts->stats.field_errors += result.field_errors;
    for (const auto& [line, why] : result.problems) {
      ts->AddProblem(f->index, f->path, line, why);
    }
    return Status::Ok();
  }

  // Reads one file to its end (and sets it up for following when asked).
  Status ReadFile(int index, const std::string& path,
                  std::vector<std::unique_ptr<OpenFile>>* followed, ReadStats* stats) {
    YS_ASSIGN_OR_RETURN(auto f, OpenStream(index, path));
    ++stats->files;
    const std::string format_name(InputFormatName(f->format));
    ++stats->files_by_format[format_name];
    const bool follow =
        options.follow.enabled && f->source->is_plain_file() && f->format != InputFormat::kTriton;
    Status status;
    if (f->format == InputFormat::kTriton) {
      status = ReadTriton(f.get());
    } else if (f->format == InputFormat::kJsonl && f->source->is_plain_file() && !follow) {
      f->source.reset();  // the mapping replaces the stream.
      status = ReadMappedJsonl(index, path);
    } else {
      YS_RETURN_IF_ERROR(MakeConsumer(f.get()));
      if (follow) f->reader->set_hold_partial(true);
      if (f->format == InputFormat::kJsonl && threads > 1 && !follow) {
        status = PumpParallel(f.get());
      } else {
        StatusOr<bool> pumped = PumpSingle(f.get());
        status = pumped.status();
      }
      if (status.ok() && !follow) f->consumer->Finish(states[0].get());
      if (f->consumer) f->consumer->TakeWarnings(&warnings);
    }
    stats->records_by_format[format_name] += TakeFormatRecords();
    if (status.ok() && follow) followed->push_back(std::move(f));
    return status;
  }

  // Polls followed files until stopped or idle for too long.
  Status Follow(std::vector<std::unique_ptr<OpenFile>>* files, ReadStats* stats) {
    using Clock = std::chrono::steady_clock;
    const FollowOptions& fo = options.follow;
    auto last_data = Clock::now();
    Status status;
    while (status.ok()) {
      if (Cancelled(fo.stop) || Cancelled(options.cancel)) break;
      bool any = false;
      for (auto& f : *files) {
        if (f->source->FileWasReplacedOrTruncated()) {
          StatusOr<std::unique_ptr<InputSource>> reopened = InputSource::Open(f->path);
          if (reopened.ok()) {
            f->source = std::move(reopened).value();
            f->reported_raw = 0;
            f->reader->Reset(f->source.get());
            f->reader->set_hold_partial(true);
            if (IsTable(f->format)) {  // the new file starts with its header.
              StatusOr<std::unique_ptr<TableParser>> parser =
                  TableParser::Create(f->format, options.column_map);
              if (parser.ok()) {
                f->consumer =
                    std::make_unique<TableConsumer>(std::move(parser).value(), f->index, f->path);
              }
            }
          }
        }
        StatusOr<bool> pumped = PumpSingle(f.get());
        if (!pumped.ok()) {
          status = pumped.status();
          break;
        }
        any = any || *pumped;
        if (IsTable(f->format)) f->consumer->TakeWarnings(&warnings);
        stats->records_by_format[std::string(InputFormatName(f->format))] += TakeFormatRecords();
      }
      const auto now = Clock::now();
      if (any) {
        last_data = now;
        continue;
      }
      if (fo.idle_timeout_ms > 0 &&
          now - last_data >= std::chrono::milliseconds(fo.idle_timeout_ms)) {
        break;
      }
      // Sleep in small steps so that `stop` is noticed quickly.
      const auto wake = now + std::chrono::milliseconds(std::max<int64_t>(1, fo.poll_interval_ms));
      while (Clock::now() < wake && !Cancelled(fo.stop) && !Cancelled(options.cancel)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    // Parse what is held back (a last line without newline).
    for (auto& f : *files) {
      f->reader->set_hold_partial(false);
      StatusOr<bool> pumped = PumpSingle(f.get());
      if (status.ok() && !pumped.ok()) status = pumped.status();
      f->consumer->Finish(states[0].get());
      f->consumer->TakeWarnings(&warnings);
      stats->records_by_format[std::string(InputFormatName(f->format))] += TakeFormatRecords();
    }
    return status;
  }

  void MergeInto(ReadStats* stats) {
    std::vector<Problem> problems;
    for (auto& tsp : states) {
      ThreadState& ts = *tsp;
      const ReadStats& s = ts.stats;
      stats->bytes += s.bytes;
      stats->raw_bytes += s.raw_bytes;
      stats->lines += s.lines;
      stats->records += s.records;
      stats->requests += s.requests;
      stats->batches += s.batches;
      stats->gpu_samples += s.gpu_samples;
      stats->alerts += s.alerts;
      stats->other_records += s.other_records;
      stats->malformed += s.malformed;
      stats->field_errors += s.field_errors;
      stats->foreign_schema += s.foreign_schema;
      stats->writer_dropped += s.writer_dropped;
      for (Problem& p : ts.problems) problems.push_back(std::move(p));
      ts.problems.clear();
      ts.stats = ReadStats();
    }
    std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
      return a.file_index != b.file_index ? a.file_index < b.file_index : a.line < b.line;
    });
    for (Problem& p : problems) {
      if (static_cast<int>(stats->malformed_examples.size()) >= options.max_examples) break;
      stats->malformed_examples.push_back(std::move(p.text));
    }
    stats->raw_bytes += raw_bytes;
    raw_bytes = 0;
    for (std::string& w : warnings) stats->warnings.push_back(std::move(w));
    warnings.clear();
  }
};

LogReader::LogReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LogReader::~LogReader() = default;

StatusOr<std::unique_ptr<LogReader>> LogReader::Create(const ReadOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  YS_ASSIGN_OR_RETURN(impl->forced_format, ParseInputFormat(options.input_format));
  // Validate --map once, for both tables and JSONL.
  YS_ASSIGN_OR_RETURN(auto columns, TableColumns::Create(options.column_map));
  YS_ASSIGN_OR_RETURN(auto jsonl, JsonlParser::Create(options.column_map));
  int threads = options.threads;
  // The default stops at kDefaultMaxThreads: each reading thread holds its
  // own window and aggregator (~30 MB), so peak memory follows the thread
  // count, and 4 threads already read faster than the rules consume.
  if (threads <= 0) {
    threads = std::min(static_cast<int>(std::thread::hardware_concurrency()), kDefaultMaxThreads);
  }
  impl->threads = std::clamp(threads, 1, kMaxThreads);
  if (impl->options.max_examples < 0) impl->options.max_examples = 0;
  if (impl->options.block_bytes < 4096) impl->options.block_bytes = 4096;
  return std::unique_ptr<LogReader>(new LogReader(std::move(impl)));
}

int LogReader::num_threads() const { return impl_->threads; }

Status LogReader::Read(const std::vector<std::string>& paths,
                       const std::function<RecordSink*(int thread_index)>& sink_for_thread,
                       ReadStats* stats) {
  if (paths.empty()) return InvalidArgumentError("no input files");
  // Fail before reading anything when a file is missing.
  for (const std::string& path : paths) {
    if (path == "-") continue;
    if (ClickHouseUri::Matches(path)) {
      YS_RETURN_IF_ERROR(ClickHouseUri::Parse(path).status());
      continue;
    }
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return NotFoundError(path + ": no such file");
    if (S_ISDIR(st.st_mode)) return InvalidArgumentError(path + ": is a directory");
  }
  YS_RETURN_IF_ERROR(impl_->Init(sink_for_thread));
  std::vector<std::unique_ptr<Impl::OpenFile>> followed;
  Status status;
  for (size_t i = 0; i < paths.size() && status.ok(); ++i) {
    if (Cancelled(impl_->options.cancel)) break;
    status = impl_->ReadFile(static_cast<int>(i), paths[i], &followed, stats);
  }
  if (status.ok() && !followed.empty()) status = impl_->Follow(&followed, stats);
  impl_->MergeInto(stats);
  if (status.ok() && Cancelled(impl_->options.cancel)) return CancelledError("read cancelled");
  return status;
}

}  // namespace yoloscope
