#include "http/request.h"

#include "http/request_impl.h"

namespace yoloscope::http {

namespace http = boost::beast::http;

void Request::Impl::Finish() {
  target = ToStringView(message.target());
  size_t question = target.find('?');
  if (question == std::string_view::npos) {
    path = target;
    query = {};
  } else {
    path = target.substr(0, question);
    query = target.substr(question + 1);
    // Only requests with a query pay for parsing it.
    if (!query.empty()) query_params = ParseQueryString(query);
  }
}

Request::Request(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Request::Request(Request&&) noexcept = default;
Request& Request::operator=(Request&&) noexcept = default;
Request::~Request() = default;

Request Request::ForTest(std::string_view method, std::string_view target,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         std::string body, int64_t receive_ns, std::string peer) {
  auto impl = std::make_unique<Impl>();
  impl->message.method_string(boost::beast::string_view(method.data(), method.size()));
  impl->message.target(boost::beast::string_view(target.data(), target.size()));
  impl->message.version(11);
  for (const auto& [name, value] : headers) impl->message.insert(name, value);
  impl->message.body() = std::move(body);
  impl->receive_ns = receive_ns;
  impl->peer = std::move(peer);
  impl->Finish();
  return Request(std::move(impl));
}

std::string_view Request::method() const { return ToStringView(impl_->message.method_string()); }
std::string_view Request::target() const { return impl_->target; }
std::string_view Request::path() const { return impl_->path; }
std::string_view Request::query() const { return impl_->query; }
const QueryParams& Request::query_params() const { return impl_->query_params; }

std::optional<std::string_view> Request::query_param(std::string_view key) const {
  for (const auto& [name, value] : impl_->query_params) {
    if (name == key) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::string_view> Request::path_param(std::string_view name) const {
  for (const auto& [key, value] : impl_->path_params) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

std::string_view Request::route() const { return impl_->route; }

std::optional<std::string_view> Request::header(std::string_view name) const {
  auto it = impl_->message.find(boost::beast::string_view(name.data(), name.size()));
  if (it == impl_->message.end()) return std::nullopt;
  return ToStringView(it->value());
}

void Request::ForEachHeader(
    const std::function<void(std::string_view, std::string_view)>& fn) const {
  for (const auto& field : impl_->message) {
    fn(ToStringView(field.name_string()), ToStringView(field.value()));
  }
}

int Request::version() const { return static_cast<int>(impl_->message.version()); }
std::string_view Request::body() const { return impl_->message.body(); }
std::string Request::TakeBody() {
  std::string body = std::move(impl_->message.body());
  impl_->message.body().clear();  // A moved-from string is only "valid"; make it empty.
  return body;
}
const std::string& Request::peer() const { return impl_->peer; }
int64_t Request::receive_ns() const { return impl_->receive_ns; }

}  // namespace yoloscope::http
