#include "analyzer/readers/table_columns.h"

#include <algorithm>

#include "analyzer/readers/nvidia_smi_throttle.h"
#include "reqlog/log_schema.h"

namespace yoloscope {
namespace {

namespace ls = logschema;

// Pseudo field names accepted by --map besides the schema fields.
constexpr std::string_view kNoteField = "note";

struct Alias {
  std::string_view field;  // schema field, "note" or "event"
  std::string_view names;  // '|'-separated aliases (normalised on load)
};

// Aliases per field. Schema names themselves are added automatically.
constexpr Alias kAliases[] = {
    {ls::kTs,
     "timestamp|time|datetime|date time|ts|arrival|arrival time|start time|request time|"
     "时间戳|时间|日期时间|请求时间|到达时间|开始时间"},
    {ls::kRequestId,
     "request id|req id|id|request uuid|trace id|requestid|请求id|请求ID|请求编号|请求号|编号"},
    {ls::kModel, "model|model name|模型|模型名|模型名称"},
    {ls::kBackend, "backend|engine|runtime|后端|推理后端|推理引擎|框架"},
    {ls::kDevice, "device|设备"},
    {ls::kGpuId, "gpu id|gpu|gpu index|index|gpu编号|gpu序号|显卡|显卡编号|gpu卡号"},
    {ls::kBatchId, "batch id|批次id|批次ID|批次编号|批次号"},
    {ls::kInstance, "instance|model instance|worker|实例"},
    {ls::kBatchSize, "batch size|batch|bs|批大小|批量大小|批次大小|批量|批处理大小"},
    {ls::kQueueLen,
     "queue len|queue length|queue depth|queue size|pending|队列长度|队列深度|排队数|排队数量"},
    {ls::kQueueMs,
     "queue|queue time|queue wait|queueing|queuing|queue delay|wait|wait time|waiting|"
     "排队时间|等待时间|排队|等待|排队耗时|等待耗时|排队延迟"},
    {ls::kDecodeMs, "decode|decode time|image decode|解码|解码耗时|解码时间"},
    {ls::kPreprocessMs,
     "preprocess|preprocessing|preprocess time|pre process|pre|预处理|预处理耗时|预处理时间|"
     "前处理|前处理耗时"},
    {ls::kH2dMs, "h2d|host to device|htod|upload|copy in|上传耗时|拷贝耗时|传输耗时"},
    {ls::kInferenceMs,
     "inference|inference time|infer|infer time|forward|model time|gpu time|compute|"
     "推理|推理耗时|推理时间|模型推理|推理延迟|前向|前向耗时"},
    {ls::kD2hMs, "d2h|device to host|dtoh|download|copy out|回传耗时|下载耗时"},
    {ls::kPostprocessMs,
     "postprocess|postprocessing|postprocess time|post process|post|nms|后处理|后处理耗时|"
     "后处理时间|nms耗时"},
    {ls::kTotalMs,
     "total|total time|latency|total latency|e2e|end to end|e2e latency|duration|elapsed|"
     "response time|总耗时|总时间|总延迟|延迟|耗时|响应时间|端到端延迟|端到端耗时"},
    {ls::kDetections,
     "detections|num detections|dets|boxes|objects|检测数|检测数量|目标数|目标数量|框数"},
    {ls::kStatus, "status|state|result|status code|code|状态|结果|状态码"},
    {ls::kError, "error|err|error message|message|msg|错误|错误信息|异常|报错"},
    {ls::kGpuUtil,
     "gpu util|gpu utilization|gpu utilisation|utilization|util|utilization.gpu|gpu usage|"
     "gpu利用率|gpu使用率|利用率|gpu占用率|显卡利用率"},
    {ls::kMemUsedMb,
     "mem used|memory used|mem|memory|gpu memory|gpu mem|gpu memory used|vram|vram used|"
     "used memory|memory.used|显存占用|显存|显存使用|已用显存|显存使用量|显存用量"},
    {ls::kMemTotalMb,
     "mem total|memory total|total memory|gpu memory total|memory.total|显存总量|总显存|"
     "显存容量|显存大小"},
    {ls::kMemReservedMb, "mem reserved|memory reserved|reserved|预留显存|保留显存"},
    {ls::kMemAllocatedMb, "mem allocated|memory allocated|allocated|已分配显存|分配显存"},
    {ls::kMemInactiveSplitMb, "mem inactive split|inactive split|碎片显存"},
    {ls::kMemOtherProcessesMb, "mem other processes|other processes|其他进程显存"},
    {ls::kAllocRetries, "alloc retries|num alloc retries|allocation retries|分配重试|分配重试次数"},
    {ls::kOom, "oom|out of memory|显存溢出|内存溢出|显存不足"},
    {ls::kSmClockMhz, "sm clock|clocks.sm|clocks.current.sm|sm clock mhz|核心频率|sm频率"},
    {ls::kTempC, "temp|temperature|temperature.gpu|gpu temp|温度|gpu温度"},
    {ls::kPowerW,
     "power|power draw|power.draw|power.draw.instant|power.draw.average|gpu power|功耗|功率"},
    {ls::kPcieTxMbs, "pcie tx|pcie tx mbs|pci tx|tx"},
    {ls::kPcieRxMbs, "pcie rx|pcie rx mbs|pci rx|rx"},
    {ls::kThrottleReasons,
     "throttle reasons|throttle|clocks_throttle_reasons.active|clocks_event_reasons.active|"
     "降频原因"},
    {kNoteField, "note|notes|remark|remarks|comment|comments|备注|说明|注释"},
    {ls::kEvent, "event|type|record type|kind|记录类型|类型"},
};

struct UnitSuffix {
  std::string_view suffix;
  ValueUnit unit;
};

// Tried longest first on a normalised name that matched no alias.
constexpr UnitSuffix kUnitSuffixes[] = {
    {"seconds", ValueUnit::kS},       {"毫秒", ValueUnit::kMs},     {"微秒", ValueUnit::kUs},
    {"percent", ValueUnit::kPercent}, {"bytes", ValueUnit::kBytes}, {"msec", ValueUnit::kMs},
    {"usec", ValueUnit::kUs},         {"secs", ValueUnit::kS},      {"mib", ValueUnit::kMb},
    {"gib", ValueUnit::kGb},          {"mhz", ValueUnit::kMhz},     {"sec", ValueUnit::kS},
    {"pct", ValueUnit::kPercent},     {"秒", ValueUnit::kS},        {"ms", ValueUnit::kMs},
    {"us", ValueUnit::kUs},           {"ns", ValueUnit::kNs},       {"mb", ValueUnit::kMb},
    {"gb", ValueUnit::kGb},           {"kb", ValueUnit::kKb},
};

constexpr std::string_view kThrottlePrefixes[] = {"clocksthrottlereasons", "clockseventreasons"};

bool UnitFits(ValueUnit unit, const ReaderField* field) {
  return field != nullptr && ConvertToFieldUnit(1.0, unit, field->unit).has_value();
}

ColumnBinding BindingFor(std::string_view field_name) {
  ColumnBinding b;
  if (field_name == kNoteField) {
    b.role = ColumnRole::kNote;
  } else if (field_name == ls::kEvent) {
    b.role = ColumnRole::kEvent;
  } else if (const ReaderField* f = FindReaderField(field_name)) {
    b.role = ColumnRole::kField;
    b.field = f;
  }
  return b;
}

}  // namespace

std::string TableColumns::Normalize(std::string_view header, std::string_view* unit_text) {
  header = TrimCell(header);
  if (header.substr(0, 3) == "\xEF\xBB\xBF") header = TrimCell(header.substr(3));
  *unit_text = {};
  // A trailing bracketed unit: "(ms)", "[MiB]", "（毫秒）", "【ms】".
  struct Pair {
    std::string_view open, close;
  };
  for (const Pair& p : {Pair{"(", ")"}, Pair{"[", "]"}, Pair{"\xEF\xBC\x88", "\xEF\xBC\x89"},
                        Pair{"\xE3\x80\x90", "\xE3\x80\x91"}}) {
    if (header.size() > p.close.size() &&
        header.substr(header.size() - p.close.size()) == p.close) {
      const size_t open = header.rfind(p.open);
      if (open != std::string_view::npos && open > 0) {
        *unit_text = TrimCell(header.substr(open + p.open.size(),
                                            header.size() - p.close.size() - open - p.open.size()));
        header = TrimCell(header.substr(0, open));
        break;
      }
    }
  }
  std::string key;
  key.reserve(header.size());
  for (char c : header) {
    if (c == ' ' || c == '_' || c == '-' || c == '.' || c == '/' || c == '\t') continue;
    key.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return key;
}

// The alias table is the same for every parser, so it is built once per
// process (a few hundred normalised strings: rebuilding it per file showed up
// as most of the time of small inputs) and only read afterwards.
const TableColumns::AliasTable& TableColumns::SharedAliases() {
  static const AliasTable* const table = [] {
    auto* aliases = new AliasTable();
    std::string_view ignored_unit;
    for (const ReaderField& f : AllReaderFields()) {
      aliases->emplace(Normalize(f.name, &ignored_unit), BindingFor(f.name));
    }
    for (const Alias& a : kAliases) {
      std::string_view names = a.names;
      while (!names.empty()) {
        const size_t bar = names.find('|');
        const std::string_view name = names.substr(0, bar);
        names = bar == std::string_view::npos ? std::string_view() : names.substr(bar + 1);
        // First alias wins when two fields share a name.
        aliases->emplace(Normalize(name, &ignored_unit), BindingFor(a.field));
      }
    }
    return aliases;
  }();
  return *table;
}

StatusOr<std::unique_ptr<TableColumns>> TableColumns::Create(
    const std::map<std::string, std::string>& column_map) {
  auto columns = std::unique_ptr<TableColumns>(new TableColumns(SharedAliases()));
  for (const auto& [field, column] : column_map) {
    ColumnBinding b = BindingFor(field);
    if (b.role == ColumnRole::kIgnored) {
      return InvalidArgumentError("--map " + field + "=" + column + ": unknown schema field '" +
                                  field + "' (see docs/log-schema.md)");
    }
    if (column.empty()) {
      return InvalidArgumentError("--map " + field + "=: empty column name");
    }
    columns->map_.emplace_back(b, column);
  }
  return columns;
}

ColumnBinding TableColumns::Lookup(const std::string& key) const {
  auto it = aliases_.find(key);
  if (it != aliases_.end()) return it->second;
  for (std::string_view prefix : kThrottlePrefixes) {
    if (key.size() > prefix.size() && std::string_view(key).substr(0, prefix.size()) == prefix) {
      const std::string_view reason =
          ThrottleReasonForColumnSuffix(std::string_view(key).substr(prefix.size()));
      if (!reason.empty()) {
        ColumnBinding b;
        b.role = ColumnRole::kThrottleFlag;
        b.throttle_reason = reason;
        return b;
      }
    }
  }
  return ColumnBinding{};
}

ColumnBinding TableColumns::MapCell(std::string_view header_cell) const {
  std::string_view unit_text;
  const std::string key = Normalize(header_cell, &unit_text);
  const ValueUnit header_unit = ParseValueUnit(unit_text);
  ColumnBinding b = Lookup(key);
  if (b.role != ColumnRole::kIgnored) {
    b.header_unit = header_unit;
    return b;
  }
  // "queue_time_ms", "mem_gb", "推理耗时毫秒": a unit suffix on an alias.
  for (const UnitSuffix& s : kUnitSuffixes) {
    if (key.size() <= s.suffix.size() ||
        std::string_view(key).substr(key.size() - s.suffix.size()) != s.suffix) {
      continue;
    }
    ColumnBinding inner = Lookup(key.substr(0, key.size() - s.suffix.size()));
    if (inner.role == ColumnRole::kField && UnitFits(s.unit, inner.field)) {
      inner.header_unit = header_unit != ValueUnit::kNone ? header_unit : s.unit;
      return inner;
    }
  }
  return ColumnBinding{};
}

std::vector<ColumnBinding> TableColumns::MapHeader(const std::vector<std::string_view>& cells,
                                                   std::vector<std::string>* warnings) const {
  std::vector<ColumnBinding> bindings(cells.size());
  std::vector<bool> claimed(cells.size(), false);
  auto same_target = [](const ColumnBinding& a, const ColumnBinding& b) {
    if (a.role != b.role) return false;
    if (a.role == ColumnRole::kField) return a.field == b.field;
    if (a.role == ColumnRole::kThrottleFlag) return a.throttle_reason == b.throttle_reason;
    return a.role == ColumnRole::kEvent;  // notes may repeat
  };
  auto taken = [&](const ColumnBinding& b) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (claimed[i] && same_target(bindings[i], b)) return true;
    }
    return false;
  };
  // --map first.
  for (const auto& [binding, column] : map_) {
    std::string_view ignored;
    const std::string want = Normalize(column, &ignored);
    bool found = false;
    for (size_t i = 0; i < cells.size(); ++i) {
      std::string_view unit_text;
      if (claimed[i]) continue;
      if (TrimCell(cells[i]) != TrimCell(column) && Normalize(cells[i], &unit_text) != want) {
        continue;
      }
      Normalize(cells[i], &unit_text);
      bindings[i] = binding;
      bindings[i].header_unit = ParseValueUnit(unit_text);
      claimed[i] = true;
      found = true;
      break;
    }
    if (!found && warnings != nullptr) {
      warnings->push_back(
          "--map " +
          std::string(binding.field != nullptr
                          ? binding.field->name
                          : (binding.role == ColumnRole::kNote ? kNoteField : ls::kEvent)) +
          "=" + column + ": no such column");
    }
  }
  std::string ignored_names;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (claimed[i]) continue;
    ColumnBinding b = MapCell(cells[i]);
    if (b.role != ColumnRole::kIgnored && !taken(b)) {
      bindings[i] = b;
      claimed[i] = true;
    } else if (!TrimCell(cells[i]).empty()) {
      if (!ignored_names.empty()) ignored_names.append(", ");
      ignored_names.append(TrimCell(cells[i]));
    }
  }
  if (!ignored_names.empty() && warnings != nullptr) {
    warnings->push_back("ignored columns: " + ignored_names);
  }
  return bindings;
}

}  // namespace yoloscope
