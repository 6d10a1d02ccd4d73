#include "fleet/clickhouse_uri.h"

#include <cctype>
#include <charconv>

namespace yoloscope {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding ('+' is a space in the query part only).
StatusOr<std::string> Decode(std::string_view s, bool plus_is_space, std::string_view what,
                             std::string_view uri) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      const int hi = i + 2 < s.size() ? HexValue(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return InvalidArgumentError(std::string(uri) + ": bad percent-encoding in the " +
                                    std::string(what));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

}  // namespace

StatusOr<ClickHouseUri> ClickHouseUri::Parse(std::string_view uri) {
  const std::string u(uri);
  auto bad = [&u](const std::string& why) { return InvalidArgumentError(u + ": " + why); };
  if (!Matches(uri)) return bad("expected clickhouse://[user[:password]@]host[:port][/database]");
  std::string_view rest = uri.substr(13);
  ClickHouseUri out;
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest, path;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    std::string_view user = userinfo, password;
    if (size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      user = userinfo.substr(0, colon);
      password = userinfo.substr(colon + 1);
    }
    YS_ASSIGN_OR_RETURN(out.user, Decode(user, false, "user", uri));
    YS_ASSIGN_OR_RETURN(out.password, Decode(password, false, "password", uri));
    if (out.user.empty()) return bad("empty user name before '@'");
  }
  std::string_view host = authority;
  if (size_t colon = authority.rfind(':');
      colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    host = authority.substr(0, colon);
    std::string_view port = authority.substr(colon + 1);
    int p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p < 1 || p > 65535) {
      return bad("port must be 1..65535, got '" + std::string(port) + "'");
    }
    out.port = p;
  }
  if (host.empty()) return bad("no host");
  for (char c : host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) {
      return bad("bad character in host '" + std::string(host) + "'");
    }
  }
  out.host = std::string(host);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (!path.empty()) {
    if (!IsIdentifier(path)) {
      return bad("database must be a name of letters, digits and '_', got '" + std::string(path) +
                 "'");
    }
    out.database = std::string(path);
  }
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    YS_ASSIGN_OR_RETURN(
        std::string value,
        Decode(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1), true,
               "option " + std::string(key), uri));
    if (key == "since") {
      out.since = value;
    } else if (key == "until") {
      out.until = value;
    } else if (key == "where") {
      out.where = value;
    } else if (key == "cluster") {
      if (!IsIdentifier(value)) return bad("cluster must be a name, got '" + value + "'");
      out.cluster = value;
    } else if (key == "pushdown") {
      if (value != "0" && value != "1") return bad("pushdown must be 0 or 1, got '" + value + "'");
      out.pushdown = value == "1";
    } else {
      return bad("unknown option '" + std::string(key) +
                 "' (since, until, where, cluster, pushdown)");
    }
  }
  return out;
}

std::string ClickHouseUri::Describe() const {
  return host + ":" + std::to_string(port) + "/" + database;
}

}  // namespace yoloscope
