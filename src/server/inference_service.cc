#include "server/inference_service.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "batching/dynamic_batcher.h"
#include "image/image_decoder.h"
#include "image/letterbox.h"
#include "logging/record_writer.h"
#include "reqlog/log_records.h"
#include "server/tensor_pool.h"
#include "server/work_queue.h"
#include "telemetry/telemetry_source.h"

namespace yoloscope {

namespace {

double NsToMs(int64_t ns) { return static_cast<double>(ns) / 1e6; }

// The GPU index of a backend's device: "cuda:1" -> 1, "sim:0" -> 0, "cuda"
// -> 0; empty for "cpu" and anything without an index.
std::optional<int64_t> GpuIdOfDevice(std::string_view device) {
  if (device == "cuda") return 0;
  const size_t colon = device.find(':');
  if (colon == std::string_view::npos || device.substr(0, colon) == "cpu") return std::nullopt;
  int64_t id = -1;
  const char* first = device.data() + colon + 1;
  const char* last = device.data() + device.size();
  auto [end, ec] = std::from_chars(first, last, id);
  if (ec != std::errc() || end != last || first == last || id < 0) return std::nullopt;
  return id;
}

// Allocation retries and OOM are facts only where a device allocator exists
// (CUDA, the simulated GPU); on the CPU they stay absent, not a made-up zero.
bool HasAllocator(const BatchTiming& t) {
  return t.oom || t.alloc_retries > 0 || t.memory.reserved_mb.has_value() ||
         t.memory.allocated_mb.has_value() || t.memory.alloc_retries.has_value();
}

}  // namespace

struct InferenceService::Job {
  InferenceRequest req;
  Completion done;
  PostprocessConfig post;
  std::vector<float> tensor;
  LetterboxTransform transform;
  int width = 0, height = 0;
  int64_t pre_start_ns = 0, pre_end_ns = 0, post_enqueue_ns = 0;
  double decode_ms = 0, preprocess_ms = 0, batch_queue_ms = 0;
  int queue_len = 0;
  int64_t batch_id = 0;
  int batch_size = 0;
  int instance = -1;  // the model instance that ran it; -1 before a batch
  BatchTiming timing;
  std::shared_ptr<const OutputTensor> output;
  int index_in_batch = 0;
  Detections detections;
  double postprocess_ms = 0;
  int64_t input_bytes = 0;  // set for requests rejected before Submit
};

struct InferenceService::Impl {
  using JobPtr = std::unique_ptr<Job>;

  InferenceServiceConfig config;
  Clock* clock = nullptr;
  MetricsRegistry* metrics = nullptr;
  AsyncLogWriter* log = nullptr;
  std::vector<std::unique_ptr<Backend>> backends;
  // Per instance, fixed at Create: what every record of it says.
  std::vector<std::optional<int64_t>> gpu_ids;
  std::string backend_name, device_name;  // of backends[0]
  OutputLayout layout = OutputLayout::kUnknown;
  std::unique_ptr<TensorPool> pool;

  std::unique_ptr<WorkQueue<JobPtr>> pre_queue;
  std::unique_ptr<DynamicBatcher<JobPtr>> batcher;
  std::unique_ptr<WorkQueue<JobPtr>> post_queue;
  std::vector<std::thread> pre_threads, device_threads, post_threads;

  std::atomic<bool> accepting{false};
  std::atomic<bool> shut_down{false};
  std::atomic<int64_t> in_flight{0}, completed{0}, pre_waiting{0};

  // Metrics, resolved once.
  Histogram *h_queue = nullptr, *h_decode = nullptr, *h_preprocess = nullptr,
            *h_inference = nullptr, *h_postprocess = nullptr, *h_total = nullptr,
            *h_batch_size = nullptr;
  Counter* c_batches = nullptr;
  Counter* c_oom = nullptr;            // batches that hit a device OOM (recovered or not)
  Counter* c_alloc_retries = nullptr;  // allocator retries/splits performed
  std::array<std::atomic<Counter*>, 600> code_counters{};

  mutable std::mutex stats_mu;
  std::vector<double> batch_latency_ms_by_size;  // Guarded by stats_mu.
  // Per batch size, the summed decode + letterbox and postprocess time of
  // the images that ran in batches of that size (Triton's batch_stats).
  std::vector<int64_t> batch_input_ns_by_size, batch_output_ns_by_size;  // Guarded by stats_mu.
  std::atomic<int64_t> ok_total_ns{0}, fail_count{0}, fail_total_ns{0}, last_ok_wall_us{0};
  // Admission of a group (SubmitAll) checks and reserves queue room at once.
  std::mutex admit_mu;

  std::string model_name;

  void PreprocessLoop();
  void DeviceLoop(int instance);
  void PostprocessLoop();
  void Finish(JobPtr job, const Status& status, Outcome outcome);
  // With the HTTP status and log status given (protocol-layer refusals).
  void Finish(JobPtr job, const Status& status, Outcome outcome, int http_status,
              const std::string& code);
  void WriteRequestRecord(const Job& job, const InferenceResult& r);
  // After the batch's requests were handed on (`batch.items` moved from).
  void WriteBatchRecord(int instance, const Batch<JobPtr>& batch, int size, int64_t start_wall_us,
                        const BatchTiming& timing, int64_t busy_ns);
  void CountRequest(int http_status);
  // Validates and admits `jobs` together (all or none); on refusal each is
  // finished at once with the reason.
  void Admit(std::vector<JobPtr> jobs);
  JobPtr MakeJob(InferenceRequest&& request, Completion&& done);
};

namespace {
const std::vector<double>& BatchSizeBuckets() {
  static const std::vector<double> kBuckets = {1, 2, 4, 8, 16, 32, 64, 128};
  return kBuckets;
}
}  // namespace

StatusOr<std::unique_ptr<InferenceService>> InferenceService::Create(
    const InferenceServiceConfig& config, Clock* clock, MetricsRegistry* metrics,
    AsyncLogWriter* log) {
  if (clock == nullptr || metrics == nullptr) {
    return InvalidArgumentError("InferenceService needs a clock and a metrics registry");
  }
  if (config.instances < 1 || config.preprocess_workers < 1 || config.postprocess_workers < 1) {
    return InvalidArgumentError("instances and worker counts must be >= 1");
  }
  YS_RETURN_IF_ERROR(config.postprocess.Validate());
  std::unique_ptr<InferenceService> s(new InferenceService());
  s->impl_ = std::make_unique<Impl>();
  Impl& im = *s->impl_;
  im.config = config;
  im.clock = clock;
  im.metrics = metrics;
  im.log = log;

  BackendConfig bc = config.backend;
  bc.max_batch = config.batcher.max_batch_size;
  for (int i = 0; i < config.instances; ++i) {
    // Instances of one simulated device share its memory; others load anew.
    if (i > 0) {
      if (auto sibling = im.backends[0]->NewSiblingInstance()) {
        im.backends.push_back(std::move(sibling));
        continue;
      }
    }
    auto b = config.backend_factory ? config.backend_factory(bc) : CreateBackend(bc);
    if (!b.ok()) return b.status();
    if (*b == nullptr) return InternalError("the backend factory returned no backend");
    im.backends.push_back(std::move(b).value());
  }
  // A backend may accept smaller batches than asked (a CUDA backend sized by
  // its measured activation memory): never form a batch it refuses. Every
  // use of max_batch_size below (warm-up, batcher, stats) sees the cap.
  int backend_max = im.config.batcher.max_batch_size;
  for (const auto& b : im.backends) backend_max = std::min(backend_max, b->max_batch());
  if (backend_max < 1) {
    return FailedPreconditionError("backend '" + im.backends[0]->name() + "' on " +
                                   im.backends[0]->device() + " accepts no batch (max_batch " +
                                   std::to_string(backend_max) + ")");
  }
  if (backend_max < im.config.batcher.max_batch_size) {
    std::cerr << "yoloscope serve: max batch size lowered from " << im.config.batcher.max_batch_size
              << " to " << backend_max << ": the " << im.backends[0]->name() << " backend on "
              << im.backends[0]->device() << " accepts at most " << backend_max
              << " images per batch\n";
    BatcherConfig& batcher = im.config.batcher;
    batcher.max_batch_size = backend_max;
    std::erase_if(batcher.preferred_batch_sizes, [&](int size) { return size > backend_max; });
    if (batcher.latency_curve_us.size() > static_cast<size_t>(backend_max)) {
      batcher.latency_curve_us.resize(static_cast<size_t>(backend_max));
    }
  }
  for (const auto& b : im.backends) im.gpu_ids.push_back(GpuIdOfDevice(b->device()));
  im.backend_name = im.backends[0]->name();
  im.device_name = im.backends[0]->device();
  const ModelInfo& info = im.backends[0]->info();
  s->model_name_ = config.model_name.empty()
                       ? std::filesystem::path(config.backend.model_path).stem().string()
                       : config.model_name;
  if (s->model_name_.empty()) s->model_name_ = info.name;
  im.model_name = s->model_name_;

  // One batch of zeros shows the output layout; refuse a model we cannot decode.
  const size_t slot = static_cast<size_t>(3) * info.input_w * info.input_h;
  {
    std::vector<float> zeros(slot, 0.f);
    OutputTensor out;
    BatchTiming timing;
    YS_RETURN_IF_ERROR(im.backends[0]
                           ->Run(zeros.data(), 1, info.input_h, info.input_w, &out, &timing)
                           .WithContext("first run"));
    auto layout = YoloDecoder::DetectLayout(out.shape, info);
    if (!layout.ok()) return layout.status().WithContext(config.backend.model_path);
    im.layout = *layout;
  }
  std::vector<int> warmup_sizes;
  if (config.warmup) {
    for (int b = 1; b <= im.config.batcher.max_batch_size; ++b) warmup_sizes.push_back(b);
  }

  im.pool = std::make_unique<TensorPool>(slot, clock);
  im.pre_queue = std::make_unique<WorkQueue<Impl::JobPtr>>(
      static_cast<size_t>(im.config.batcher.max_queue_size));
  im.post_queue = std::make_unique<WorkQueue<Impl::JobPtr>>(SIZE_MAX);
  Impl* raw = &im;
  auto batcher = DynamicBatcher<Impl::JobPtr>::Create(
      im.config.batcher, clock,
      [raw](Impl::JobPtr&& job, const BatchItemInfo& info, const Status& st) {
        job->batch_queue_ms = NsToMs(info.queue_wait_ns);
        job->queue_len = info.queue_len;
        raw->pool->Put(std::move(job->tensor));
        raw->Finish(std::move(job), st, Outcome::kTimeout);
      });
  if (!batcher.ok()) return batcher.status();
  im.batcher = std::move(batcher).value();

  const auto& lat = LatencyBucketsSeconds();
  const char* kStageHelp = "Request time per pipeline stage, in seconds.";
  im.h_queue = metrics->GetHistogram("yoloscope_stage_duration_seconds", kStageHelp, lat,
                                     {{"stage", "queue"}});
  im.h_decode = metrics->GetHistogram("yoloscope_stage_duration_seconds", kStageHelp, lat,
                                      {{"stage", "decode"}});
  im.h_preprocess = metrics->GetHistogram("yoloscope_stage_duration_seconds", kStageHelp, lat,
                                          {{"stage", "preprocess"}});
  im.h_inference = metrics->GetHistogram("yoloscope_stage_duration_seconds", kStageHelp, lat,
                                         {{"stage", "inference"}});
  im.h_postprocess = metrics->GetHistogram("yoloscope_stage_duration_seconds", kStageHelp, lat,
                                           {{"stage", "postprocess"}});
  im.h_total = metrics->GetHistogram("yoloscope_request_duration_seconds",
                                     "End-to-end request time in the server, in seconds.", lat);
  im.h_batch_size = metrics->GetHistogram("yoloscope_batch_size", "Requests per executed batch.",
                                          BatchSizeBuckets());
  im.c_batches = metrics->GetCounter("yoloscope_batches_total", "Executed batches.");
  im.c_oom = metrics->GetCounter("yoloscope_oom_total",
                                 "Batches that ran out of device memory (recovered or failed).");
  im.c_alloc_retries = metrics->GetCounter("yoloscope_alloc_retries_total",
                                           "Device allocation retries and batch splits.");
  im.batch_latency_ms_by_size.assign(im.config.batcher.max_batch_size + 1, 0.0);
  im.batch_input_ns_by_size.assign(im.config.batcher.max_batch_size + 1, 0);
  im.batch_output_ns_by_size.assign(im.config.batcher.max_batch_size + 1, 0);
  // Pre-create the common series so they are visible (at 0) from the start.
  for (int code : {200, 400, 415, 422, 503, 504}) {
    metrics->GetCounter("yoloscope_requests_total", "Requests answered, by HTTP status.",
                        {{"code", std::to_string(code)}});
  }

  for (int i = 0; i < config.preprocess_workers; ++i) {
    im.pre_threads.emplace_back([raw] { raw->PreprocessLoop(); });
  }
  // Each instance warms up on its own device thread, the thread that will run
  // its batches: libtorch keeps per-thread state (the OpenMP team, thread-
  // local caches), and warming up on this thread instead left the first one
  // or two real batches at 6-8x their steady time (seen by the lab's
  // cold_start check). Create returns only when every instance is warm.
  struct WarmupState {
    std::mutex mu;
    std::condition_variable cv;
    int remaining = 0;   // Guarded by mu.
    Status first_error;  // Guarded by mu.
  };
  auto warm = std::make_shared<WarmupState>();
  warm->remaining = config.instances;
  for (int i = 0; i < config.instances; ++i) {
    im.device_threads.emplace_back([raw, i, warm, warmup_sizes] {
      Status st = warmup_sizes.empty() ? Status::Ok() : raw->backends[i]->Warmup(warmup_sizes);
      {
        std::lock_guard<std::mutex> lock(warm->mu);
        if (!st.ok() && warm->first_error.ok()) warm->first_error = st;
        --warm->remaining;
      }
      warm->cv.notify_all();
      // A failed warm-up ends this thread and fails Create (whose Shutdown
      // stops the others).
      if (st.ok()) raw->DeviceLoop(i);
    });
  }
  {
    std::unique_lock<std::mutex> lock(warm->mu);
    warm->cv.wait(lock, [&] { return warm->remaining == 0; });
    if (!warm->first_error.ok()) return warm->first_error.WithContext("warm-up");
  }
  for (int i = 0; i < config.postprocess_workers; ++i) {
    im.post_threads.emplace_back([raw] { raw->PostprocessLoop(); });
  }
  im.accepting = true;
  s->ready_ = true;
  return s;
}

InferenceService::~InferenceService() { Shutdown(); }

const ModelInfo& InferenceService::model_info() const { return impl_->backends[0]->info(); }
std::unique_ptr<TelemetrySource> InferenceService::NewTelemetrySource() const {
  return impl_->backends[0]->NewTelemetrySource();
}

std::string InferenceService::backend_name() const { return impl_->backend_name; }
std::string InferenceService::device() const { return impl_->device_name; }
int InferenceService::max_batch_size() const { return impl_->config.batcher.max_batch_size; }
const BatcherConfig& InferenceService::batcher_config() const { return impl_->config.batcher; }

InferenceService::Impl::JobPtr InferenceService::Impl::MakeJob(InferenceRequest&& request,
                                                               Completion&& done) {
  auto job = std::make_unique<Job>();
  job->req = std::move(request);
  job->done = std::move(done);
  job->post = config.postprocess;
  if (job->req.conf) job->post.conf = *job->req.conf;
  if (job->req.iou) job->post.iou = *job->req.iou;
  if (job->req.max_det) job->post.max_det = *job->req.max_det;
  job->input_bytes = static_cast<int64_t>(job->req.image.size());
  in_flight.fetch_add(1);
  return job;
}

void InferenceService::Submit(InferenceRequest request, Completion done) {
  Impl& im = *impl_;
  std::vector<Impl::JobPtr> jobs;
  jobs.push_back(im.MakeJob(std::move(request), std::move(done)));
  im.Admit(std::move(jobs));
}

void InferenceService::SubmitAll(std::vector<InferenceRequest> requests, IndexedCompletion done) {
  Impl& im = *impl_;
  std::vector<Impl::JobPtr> jobs;
  jobs.reserve(requests.size());
  auto shared = std::make_shared<IndexedCompletion>(std::move(done));
  for (size_t i = 0; i < requests.size(); ++i) {
    jobs.push_back(im.MakeJob(std::move(requests[i]),
                              [shared, i](InferenceResult&& r) { (*shared)(i, std::move(r)); }));
  }
  im.Admit(std::move(jobs));
}

void InferenceService::Impl::Admit(std::vector<JobPtr> jobs) {
  // Every check applies to the group as a whole: one bad parameter, a
  // shutdown or too little queue room refuses all of its images.
  Status valid = jobs.empty() ? Status::Ok() : jobs.front()->post.Validate();
  for (size_t i = 1; valid.ok() && i < jobs.size(); ++i) valid = jobs[i]->post.Validate();
  if (!valid.ok()) {
    for (auto& job : jobs) Finish(std::move(job), valid, Outcome::kBadRequest);
    return;
  }
  if (!accepting.load()) {
    for (auto& job : jobs) {
      Finish(std::move(job), UnavailableError("server is shutting down"), Outcome::kUnavailable);
    }
    return;
  }
  // Admission: the preprocess queue and the batcher share one bound, so a
  // saturated server answers 503 at once instead of queueing without limit.
  // The room is reserved (pre_waiting) under admit_mu, so two groups never
  // both pass a check that only one of them fits.
  const auto n = static_cast<int64_t>(jobs.size());
  int64_t queued = 0;
  bool admitted = false;
  {
    std::lock_guard<std::mutex> lock(admit_mu);
    queued = pre_waiting.load() + batcher->QueueLength();
    if (queued + n <= config.batcher.max_queue_size) {
      pre_waiting.fetch_add(n);
      admitted = true;
    }
  }
  if (!admitted) {
    const std::string why = n == 1 ? "queue full (" + std::to_string(queued) + " requests)"
                                   : "queue full (" + std::to_string(queued) +
                                         " requests queued, no room for all " + std::to_string(n) +
                                         " images of this request)";
    for (auto& job : jobs) {
      job->queue_len = static_cast<int>(queued);
      Finish(std::move(job), ResourceExhaustedError(why), Outcome::kQueueFull);
    }
    return;
  }
  for (auto& job : jobs) {
    job->queue_len = static_cast<int>(queued);
    if (!pre_queue->TryPush(job)) {
      // Not expected (the queue's capacity is the admission bound), but a
      // job is never lost: it is answered.
      pre_waiting.fetch_sub(1);
      Finish(std::move(job), ResourceExhaustedError("preprocess queue full"), Outcome::kQueueFull);
    }
  }
}

void InferenceService::Impl::PreprocessLoop() {
  ImageDecoder decoder;
  const ModelInfo& info = backends[0]->info();
  LetterboxOptions lb;
  lb.width = info.input_w;
  lb.height = info.input_h;
  lb.stride = info.stride;
  Letterbox letterbox(lb);
  Image image;
  DecodeOptions opts;
  opts.max_pixels = config.max_pixels;
  if (config.fast_decode) {
    opts.target_w = info.input_w;
    opts.target_h = info.input_h;
  }
  const size_t slot = static_cast<size_t>(3) * info.input_w * info.input_h;

  while (auto item = pre_queue->Pop()) {
    JobPtr job = std::move(*item);
    pre_waiting.fetch_sub(1);
    job->pre_start_ns = clock->NowNs();
    const int64_t timeout_us =
        job->req.timeout_us > 0 ? job->req.timeout_us : config.batcher.default_timeout_us;
    const int64_t deadline_ns = timeout_us > 0 ? job->req.receive_ns + timeout_us * 1000 : 0;
    if (deadline_ns && job->pre_start_ns >= deadline_ns) {
      Finish(std::move(job), DeadlineExceededError("timed out waiting for a preprocess worker"),
             Outcome::kTimeout);
      continue;
    }
    if (job->req.tensor) {
      if (job->req.tensor->chw.size() != slot) {
        Finish(std::move(job), InvalidArgumentError("tensor input has the wrong size"),
               Outcome::kBadRequest);
        continue;
      }
      job->tensor = std::move(job->req.tensor->chw);
      job->req.tensor.reset();
      job->width = info.input_w;
      job->height = info.input_h;
      job->transform = LetterboxTransform{1.f, 1.f, 0.f, 0.f, info.input_w, info.input_h};
      job->pre_end_ns = clock->NowNs();
    } else if (job->req.pixels) {
      // A decoded video frame: the stream source measured its decode.
      job->decode_ms = job->req.frame ? job->req.frame->decode_ms : 0;
      job->width = job->req.pixels->width;
      job->height = job->req.pixels->height;
      job->tensor = pool->Get();
      auto transform = letterbox.ToTensor(*job->req.pixels, job->tensor.data(), slot);
      job->pre_end_ns = clock->NowNs();
      job->preprocess_ms = NsToMs(job->pre_end_ns - job->pre_start_ns);
      job->req.pixels.reset();  // the frame is no longer needed
      if (!transform.ok()) {
        pool->Put(std::move(job->tensor));
        Finish(std::move(job), transform.status(), Outcome::kBadImage);
        continue;
      }
      job->transform = *transform;
    } else {
      auto decoded = decoder.Decode(reinterpret_cast<const uint8_t*>(job->req.image.data()),
                                    job->req.image.size(), opts, &image);
      const int64_t decoded_ns = clock->NowNs();
      job->decode_ms = NsToMs(decoded_ns - job->pre_start_ns);
      if (!decoded.ok()) {
        Finish(std::move(job), decoded.status(), OutcomeForDecodeStatus(decoded.status()));
        continue;
      }
      job->width = decoded->orig_width;
      job->height = decoded->orig_height;
      job->tensor = pool->Get();
      auto transform = letterbox.ToTensor(image, *decoded, job->tensor.data(), slot);
      job->pre_end_ns = clock->NowNs();
      job->preprocess_ms = NsToMs(job->pre_end_ns - decoded_ns);
      if (!transform.ok()) {
        pool->Put(std::move(job->tensor));
        Finish(std::move(job), transform.status(), Outcome::kBadImage);
        continue;
      }
      job->transform = *transform;
      std::string().swap(job->req.image);  // the bytes are no longer needed
    }
    const Priority prio = job->req.high_priority ? Priority::kHigh : Priority::kNormal;
    Status st = batcher->Enqueue(std::move(job), prio, deadline_ns);
    if (!st.ok()) {  // Enqueue leaves `job` untouched on failure.
      pool->Put(std::move(job->tensor));
      Finish(std::move(job), st, OutcomeForStatus(st));
    }
  }
}

void InferenceService::Impl::DeviceLoop(int instance) {
  Backend& backend = *backends[instance];
  const ModelInfo& info = backend.info();
  const size_t slot = static_cast<size_t>(3) * info.input_w * info.input_h;
  std::vector<float> batch_buffer;
  Batch<JobPtr> batch;
  while (batcher->NextBatch(&batch).ok()) {
    // The instance is busy from here until its requests are handed on: the
    // batch record's busy_ms, which the what-if model uses as the instance's
    // occupancy per batch (more than the device time: assembly, a wait for
    // a shared device, bookkeeping).
    const int64_t taken_ns = clock->NowNs();
    const int n = batch.size();
    const float* input = nullptr;
    if (n == 1) {
      input = batch.items[0]->tensor.data();  // no copy for a batch of one
    } else {
      batch_buffer.resize(slot * n);
      for (int k = 0; k < n; ++k) {
        std::memcpy(batch_buffer.data() + slot * k, batch.items[k]->tensor.data(),
                    slot * sizeof(float));
      }
      input = batch_buffer.data();
    }
    auto output = std::make_shared<OutputTensor>();
    BatchTiming timing;
    const int64_t start_ns = clock->NowNs();
    const int64_t start_wall_us = clock->WallNowUs();
    Status st = backend.Run(input, n, info.input_h, info.input_w, output.get(), &timing);
    const int64_t end_ns = clock->NowNs();
    batcher->OnBatchFinished(n, (end_ns - start_ns) / 1000);
    for (auto& job : batch.items) pool->Put(std::move(job->tensor));

    c_batches->Inc();
    h_batch_size->Observe(n);
    if (timing.oom || st.code() == StatusCode::kResourceExhausted) c_oom->Inc();
    if (timing.alloc_retries > 0) c_alloc_retries->Inc(static_cast<uint64_t>(timing.alloc_retries));
    {
      std::lock_guard<std::mutex> lock(stats_mu);
      if (static_cast<size_t>(n) < batch_latency_ms_by_size.size()) {
        batch_latency_ms_by_size[n] += NsToMs(end_ns - start_ns);
      }
    }
    for (int k = 0; k < n; ++k) {
      JobPtr job = std::move(batch.items[k]);
      job->batch_id = static_cast<int64_t>(batch.batch_id);
      job->batch_size = n;
      job->instance = instance;
      job->batch_queue_ms = NsToMs(batch.infos[k].queue_wait_ns);
      job->timing = timing;
      if (!st.ok()) {
        const bool oom = st.code() == StatusCode::kResourceExhausted;
        Finish(std::move(job), st, oom ? Outcome::kOutOfMemory : Outcome::kInferenceError);
        continue;
      }
      job->output = output;
      job->index_in_batch = k;
      job->post_enqueue_ns = clock->NowNs();
      if (!post_queue->ForcePush(std::move(job))) {
        // Only after Shutdown closed the queue, which waits for this thread.
      }
    }
    WriteBatchRecord(instance, batch, n, start_wall_us, timing, clock->NowNs() - taken_ns);
    batch.Clear();
  }
}

void InferenceService::Impl::PostprocessLoop() {
  YoloDecoder decoder;
  while (auto item = post_queue->Pop()) {
    JobPtr job = std::move(*item);
    const int64_t t0 = clock->NowNs();
    // Waiting for a postprocess worker counts as queueing.
    job->batch_queue_ms += NsToMs(t0 - job->post_enqueue_ns);
    Status st = decoder.Decode(job->output->data.data(), job->output->shape, job->index_in_batch,
                               layout, job->transform, job->post, &job->detections);
    job->output.reset();  // the last job of a batch frees its output tensor
    job->postprocess_ms = NsToMs(clock->NowNs() - t0);
    if (!st.ok()) {
      Finish(std::move(job), st, Outcome::kPostprocessError);
      continue;
    }
    Finish(std::move(job), Status::Ok(), Outcome::kOk);
  }
}

void InferenceService::Impl::CountRequest(int http_status) {
  if (http_status == 0) return;  // no response was sent (e.g. a read timeout)
  if (http_status < 0 || http_status >= static_cast<int>(code_counters.size())) http_status = 500;
  // The registry lookup takes a lock; do it once per status code.
  Counter* c = code_counters[http_status].load(std::memory_order_acquire);
  if (c == nullptr) {
    c = metrics->GetCounter("yoloscope_requests_total", "Requests answered, by HTTP status.",
                            {{"code", std::to_string(http_status)}});
    code_counters[http_status].store(c, std::memory_order_release);
  }
  c->Inc();
}

void InferenceService::Impl::Finish(JobPtr job, const Status& status, Outcome outcome) {
  const OutcomeInfo& info = DescribeOutcome(outcome);
  Finish(std::move(job), status, outcome, info.http_status, std::string(info.log_status));
}

void InferenceService::Impl::Finish(JobPtr job, const Status& status, Outcome outcome,
                                    int http_status, const std::string& code) {
  InferenceResult r;
  r.status = status;
  r.outcome = outcome;
  r.http_status = http_status;
  r.error_code = code;
  r.request_id = std::move(job->req.request_id);
  r.width = job->width;
  r.height = job->height;
  r.detections = std::move(job->detections);
  r.batch_id = job->batch_id;
  r.batch_size = job->batch_size;
  r.queue_len = job->queue_len;
  const int64_t now = clock->NowNs();
  StageTiming& t = r.timing;
  // Queueing = waiting for a preprocess worker + in the batcher (until an
  // instance took the batch) + waiting for a postprocess worker.
  const double pre_wait = job->pre_start_ns ? NsToMs(job->pre_start_ns - job->req.receive_ns) : 0;
  t.queue_ms = pre_wait + job->batch_queue_ms;
  t.decode_ms = job->decode_ms;
  t.preprocess_ms = job->preprocess_ms;
  t.inference_ms = job->batch_size > 0 ? job->timing.inference_ms : 0;
  t.h2d_ms = job->timing.h2d_ms;
  t.d2h_ms = job->timing.d2h_ms;
  t.postprocess_ms = job->postprocess_ms;
  t.total_ms = job->req.receive_ns ? NsToMs(now - job->req.receive_ns) : 0;

  CountRequest(http_status);
  const auto total_ns = static_cast<int64_t>(t.total_ms * 1e6);
  if (status.ok()) {
    ok_total_ns.fetch_add(total_ns, std::memory_order_relaxed);
    last_ok_wall_us.store(clock->WallNowUs(), std::memory_order_relaxed);
    if (job->batch_size > 0) {
      std::lock_guard<std::mutex> lock(stats_mu);
      const auto b = static_cast<size_t>(job->batch_size);
      if (b < batch_input_ns_by_size.size()) {
        batch_input_ns_by_size[b] += static_cast<int64_t>((t.decode_ms + t.preprocess_ms) * 1e6);
        batch_output_ns_by_size[b] += static_cast<int64_t>(t.postprocess_ms * 1e6);
      }
    }
  } else {
    fail_count.fetch_add(1, std::memory_order_relaxed);
    fail_total_ns.fetch_add(total_ns, std::memory_order_relaxed);
  }
  if (status.ok()) {
    h_queue->Observe(t.queue_ms / 1e3);
    h_decode->Observe(t.decode_ms / 1e3);
    h_preprocess->Observe(t.preprocess_ms / 1e3);
    h_inference->Observe(t.inference_ms / 1e3);
    h_postprocess->Observe(t.postprocess_ms / 1e3);
  }
  h_total->Observe(t.total_ms / 1e3);
  WriteRequestRecord(*job, r);
  completed.fetch_add(1);
  in_flight.fetch_sub(1);
  if (job->done) job->done(std::move(r));
}

void InferenceService::Impl::WriteRequestRecord(const Job& job, const InferenceResult& r) {
  if (log == nullptr && !config.on_request_record && !config.annotate_request) return;
  // One record per thread, refilled for every request: its strings keep
  // their buffers, so building it allocates nothing in steady state.
  thread_local RequestLogRecord rec;
  ResetKeepingCapacity(&rec);
  rec.ts_us = job.req.arrival_wall_us;
  rec.request_id.assign(r.request_id);
  rec.protocol.assign(job.req.protocol);
  if (job.req.frame) {
    rec.stream.assign(job.req.frame->stream);
    rec.frame_index = job.req.frame->frame_index;
    rec.pts_ms = job.req.frame->pts_ms;
  }
  rec.client_id.assign(job.req.client_id);
  rec.model.assign(model_name);
  rec.backend.assign(backend_name);
  rec.device.assign(device_name);
  // The device of the instance that ran it (or would have: instances share
  // one device); the same gpu_id as its batch record.
  rec.gpu_id = gpu_ids[job.instance >= 0 ? static_cast<size_t>(job.instance) : 0];
  if (r.width > 0) {
    rec.input_w = r.width;
    rec.input_h = r.height;
  }
  if (job.input_bytes > 0) rec.input_bytes = job.input_bytes;
  if (r.batch_size > 0) {
    rec.batch_id = r.batch_id;
    rec.batch_size = r.batch_size;
    rec.inference_ms = r.timing.inference_ms;
    rec.h2d_ms = r.timing.h2d_ms;
    rec.d2h_ms = r.timing.d2h_ms;
    const DeviceMemoryStats& m = job.timing.memory;
    rec.mem_used_mb = m.used_mb;
    rec.mem_total_mb = m.total_mb;
    rec.mem_reserved_mb = m.reserved_mb;
    rec.mem_allocated_mb = m.allocated_mb;
    if (HasAllocator(job.timing)) {
      rec.alloc_retries = job.timing.alloc_retries;
      rec.oom = job.timing.oom;
    }
  }
  rec.queue_len = r.queue_len;
  rec.queue_ms = r.timing.queue_ms;
  if (job.pre_start_ns) {
    rec.decode_ms = r.timing.decode_ms;
    rec.preprocess_ms = r.timing.preprocess_ms;
  } else if (job.req.frame) {
    rec.decode_ms =
        job.req.frame->decode_ms;  // decoded by the stream, refused before preprocessing
  }
  if (r.status.ok()) {
    rec.postprocess_ms = r.timing.postprocess_ms;
    rec.detections = static_cast<int64_t>(r.detections.size());
  }
  rec.total_ms = r.timing.total_ms;
  rec.status.assign(r.error_code);
  if (!r.status.ok()) rec.error.assign(r.status.message());
  if (config.annotate_request) config.annotate_request(&rec);
  if (config.on_request_record) config.on_request_record(rec);
  // A dropped record is counted by the writer (by reason), which the
  // server mirrors into yoloscope_log_records_dropped_total{reason}.
  if (log != nullptr) (void)WriteRecord(&rec, log);
}

void InferenceService::Impl::WriteBatchRecord(int instance, const Batch<JobPtr>& batch, int size,
                                              int64_t start_wall_us, const BatchTiming& timing,
                                              int64_t busy_ns) {
  if (log == nullptr && !config.on_batch_record) return;
  thread_local BatchLogRecord rec;  // reused, as in WriteRequestRecord
  ResetKeepingCapacity(&rec);
  rec.ts_us = start_wall_us;
  rec.batch_id = static_cast<int64_t>(batch.batch_id);
  rec.batch_size = size;
  rec.model.assign(model_name);
  rec.instance = instance;
  rec.gpu_id = gpu_ids[static_cast<size_t>(instance)];
  rec.h2d_ms = timing.h2d_ms;
  rec.inference_ms = timing.inference_ms;
  rec.d2h_ms = timing.d2h_ms;
  rec.busy_ms = NsToMs(busy_ns);
  rec.mem_used_mb = timing.memory.used_mb;
  rec.mem_total_mb = timing.memory.total_mb;
  rec.mem_reserved_mb = timing.memory.reserved_mb;
  rec.mem_allocated_mb = timing.memory.allocated_mb;
  rec.mem_inactive_split_mb = timing.memory.inactive_split_mb;
  if (HasAllocator(timing)) {
    rec.alloc_retries = timing.alloc_retries;
    rec.oom = timing.oom;
  }
  if (config.on_batch_record) config.on_batch_record(rec);
  // A dropped record is counted by the writer (by reason), which the
  // server mirrors into yoloscope_log_records_dropped_total{reason}.
  if (log != nullptr) (void)WriteRecord(&rec, log);
}

void InferenceService::LogRejected(const std::string& request_id, int64_t arrival_wall_us,
                                   int64_t receive_ns, int64_t input_bytes, int http_status,
                                   const std::string& error_code, const std::string& message) {
  RejectedRequest r;
  r.request_id = request_id;
  r.arrival_wall_us = arrival_wall_us;
  r.receive_ns = receive_ns;
  r.input_bytes = input_bytes;
  // Refused by the protocol layer, which chose the status it answered.
  r.outcome = http_status == 404   ? Outcome::kNotFound
              : http_status >= 500 ? Outcome::kUnavailable
                                   : Outcome::kBadRequest;
  r.http_status = http_status;
  r.log_status = error_code;
  r.message = message;
  LogRejected(r);
}

void InferenceService::LogRejected(const RejectedRequest& rejected) {
  Impl& im = *impl_;
  auto job = std::make_unique<Job>();
  job->req.request_id = rejected.request_id;
  job->req.protocol = rejected.protocol;
  job->req.client_id = rejected.client_id;
  job->req.arrival_wall_us = rejected.arrival_wall_us;
  job->req.receive_ns = rejected.receive_ns;
  job->input_bytes = rejected.input_bytes;
  job->req.frame = rejected.frame;
  im.in_flight.fetch_add(1);
  const OutcomeInfo& info = DescribeOutcome(rejected.outcome);
  const int http_status = rejected.http_status < 0 ? info.http_status : rejected.http_status;
  const std::string code =
      rejected.log_status.empty() ? std::string(info.log_status) : rejected.log_status;
  im.Finish(std::move(job), Status(StatusCode::kInvalidArgument, rejected.message),
            rejected.outcome, http_status, code);
}

void InferenceService::Shutdown() {
  if (!impl_ || impl_->shut_down.exchange(true)) return;
  Impl& im = *impl_;
  ready_ = false;
  im.accepting = false;
  // Drain stage by stage: everything admitted is answered. Create may have
  // failed half-way, so every part may be missing.
  if (im.pre_queue) im.pre_queue->Close();
  for (auto& t : im.pre_threads) t.join();
  if (im.batcher) im.batcher->Shutdown();
  for (auto& t : im.device_threads) t.join();
  if (im.post_queue) im.post_queue->Close();
  for (auto& t : im.post_threads) t.join();
}

InferenceServiceStats InferenceService::Stats() const {
  const Impl& im = *impl_;
  InferenceServiceStats s;
  BatcherStats b = im.batcher->GetStats();
  s.queue_length = im.pre_waiting.load() + b.queue_length;
  s.in_flight = im.in_flight.load();
  s.completed = im.completed.load();
  s.batch_count_by_size = b.batch_count_by_size;
  {
    std::lock_guard<std::mutex> lock(im.stats_mu);
    s.batch_latency_ms_by_size = im.batch_latency_ms_by_size;
  }
  s.log_records_dropped = im.log ? im.log->dropped_total() : 0;
  auto hist = [](const Histogram* h) {
    std::vector<uint64_t> cumulative;
    uint64_t count = 0;
    double sum = 0;
    h->Snapshot(&cumulative, &count, &sum);
    return CountAndNs{static_cast<int64_t>(count), static_cast<int64_t>(sum * 1e9)};
  };
  s.queue = hist(im.h_queue);
  const CountAndNs decode = hist(im.h_decode), pre = hist(im.h_preprocess);
  s.compute_input = {pre.count, decode.ns + pre.ns};
  s.compute_infer = hist(im.h_inference);
  s.compute_output = hist(im.h_postprocess);
  s.success = {s.queue.count, im.ok_total_ns.load()};
  s.fail = {im.fail_count.load(), im.fail_total_ns.load()};
  s.execution_count = static_cast<int64_t>(im.c_batches->value());
  s.last_inference_ms = im.last_ok_wall_us.load() / 1000;
  {
    std::lock_guard<std::mutex> lock(im.stats_mu);
    for (size_t size = 1; size < s.batch_count_by_size.size(); ++size) {
      const int64_t batches = s.batch_count_by_size[size];
      if (batches == 0) continue;
      BatchSizeStats bs;
      bs.batch_size = static_cast<int>(size);
      const auto ns = [](double ms) { return static_cast<int64_t>(ms * 1e6); };
      bs.compute_infer = {batches, size < im.batch_latency_ms_by_size.size()
                                       ? ns(im.batch_latency_ms_by_size[size])
                                       : 0};
      bs.compute_input = {
          batches, size < im.batch_input_ns_by_size.size() ? im.batch_input_ns_by_size[size] : 0};
      bs.compute_output = {
          batches, size < im.batch_output_ns_by_size.size() ? im.batch_output_ns_by_size[size] : 0};
      s.batch_stats.push_back(bs);
    }
  }
  return s;
}

}  // namespace yoloscope
