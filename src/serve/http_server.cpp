#include "seqrec/serve/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <thread>

#include "seqrec/common/error.h"
#include "seqrec/serve/kserve_http.h"

namespace seqrec::serve {

using Clock = std::chrono::steady_clock;

struct HttpServer::Impl {
  ModelService& service;
  HttpServerOptions options;
  httplib::Server api, metrics;
  std::thread api_thread, metrics_thread;
  int api_port = -1, metrics_port = -1;
  bool started = false;

  Impl(ModelService& s, HttpServerOptions o) : service(s), options(std::move(o)) {}

  static void send_json(httplib::Response& res, int status, const std::string& body) {
    res.status = status;
    res.set_content(body, "application/json");
  }

  static void send_error(httplib::Response& res, int status, const std::string& message) {
    send_json(res, status, error_json(message));
  }

  // Runs a handler, turning ServeError into its status and anything else into 400 (bad input) or 500.
  template <typename F>
  static void guarded(httplib::Response& res, F&& f) {
    try {
      f();
    } catch (const ServeError& e) {
      send_error(res, e.status(), e.what());
    } catch (const InvalidInput& e) {
      send_error(res, 400, e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, std::string("internal error: ") + e.what());
    }
  }

  static std::string version_of(const httplib::Request& req) {
    return req.matches.size() > 2 && req.matches[2].matched ? req.matches[2].str() : std::string();
  }

  void configure(httplib::Server& server, int threads) {
    server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    server.set_tcp_nodelay(true);
    server.set_keep_alive_max_count(1u << 30);
    server.set_keep_alive_timeout(options.keep_alive_timeout_s);
    server.set_read_timeout(options.read_timeout_s, 0);
    server.set_write_timeout(options.write_timeout_s, 0);
    server.set_payload_max_length(static_cast<size_t>(options.max_request_bytes));
    // httplib's own refusals (unknown route, body too large, bad request line) arrive with an empty body.
    const int64_t limit = options.max_request_bytes;
    server.set_error_handler(httplib::Server::HandlerWithResponse([limit](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      if (res.status == 413) {
        send_error(res, 400, "the request is too large: the body limit is " + std::to_string(limit) + " bytes");
      } else if (res.status == 404) {
        send_error(res, 404, "no such endpoint: " + req.method + " " + req.path);
      } else {
        send_error(res, res.status, std::string("bad request: HTTP status ") + std::to_string(res.status));
      }
      return httplib::Server::HandlerResponse::Handled;
    }));
    server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        send_error(res, 500, std::string("internal error: ") + e.what());
      } catch (...) {
        send_error(res, 500, "internal error");
      }
    });
  }

  void routes() {
    api.Get("/v2/health/live", [this](const httplib::Request&, httplib::Response& res) {
      res.status = service.live() ? 200 : 503;
    });
    api.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) {
      res.status = service.ready() ? 200 : 503;
    });
    api.Get("/v2", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, service.server_metadata().dump());
    });
    // Triton's statistics extension; registered before the model routes, which would take "stats" for a name.
    api.Get("/v2/models/stats", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, nlohmann::json{{"model_stats", {service.metrics().statistics_json()}}}.dump());
    });
    const std::string model = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";
    api.Get(model, [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        service.require_model(req.matches[1], version_of(req));
        send_json(res, 200, service.model_metadata().dump());
      });
    });
    api.Get(model + "/ready", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        service.require_model(req.matches[1], version_of(req));
        res.status = service.ready() ? 200 : 503;
      });
    });
    api.Get(model + "/config", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        service.require_model(req.matches[1], version_of(req));
        send_json(res, 200, service.model_config().dump());
      });
    });
    api.Get(model + "/stats", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        service.require_model(req.matches[1], version_of(req));
        send_json(res, 200, nlohmann::json{{"model_stats", {service.metrics().statistics_json()}}}.dump());
      });
    });
    api.Post(model + "/infer", [this](const httplib::Request& req, httplib::Response& res) { infer(req, res); });
    metrics.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(service.metrics().prometheus_text(), "text/plain; version=0.0.4");
    });
  }

  void infer(const httplib::Request& req, httplib::Response& res) {
    const auto started = Clock::now();
    bool counted = false;
    guarded(res, [&] {
      service.require_model(req.matches[1], version_of(req));
      std::optional<size_t> header_length;
      if (req.has_header("Inference-Header-Content-Length")) {
        const std::string value = req.get_header_value("Inference-Header-Content-Length");
        size_t used = 0;
        unsigned long long n = 0;
        try {
          n = std::stoull(value, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != value.size()) throw ServeError(400, "Inference-Header-Content-Length '" + value + "' is not a number");
        header_length = static_cast<size_t>(n);
      }
      counted = true;  // from here on the request is the model's and counts in its metrics
      auto request = parse_http_infer_request(req.body, header_length);
      request.model_name = req.matches[1];
      request.model_version = version_of(req);
      auto body = encode_http_infer_response(service.infer(request));
      res.status = 200;
      if (body.header_length) res.set_header("Inference-Header-Content-Length", std::to_string(*body.header_length));
      res.set_content(std::move(body.body), body.content_type);
    });
    if (counted) service.record_request(res.status == 200, started);
  }
};

HttpServer::HttpServer(ModelService& service, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(service, std::move(options))) {
  SEQREC_CHECK(impl_->options.threads >= 1, "--http-threads must be >= 1, got ", impl_->options.threads);
  SEQREC_CHECK(impl_->options.max_request_bytes >= 1024, "--max-request-bytes must be >= 1024, got ", impl_->options.max_request_bytes);
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  SEQREC_ASSERT(!impl_->started, "HttpServer::start called twice");
  auto& o = impl_->options;
  impl_->configure(impl_->api, o.threads);
  impl_->configure(impl_->metrics, 2);
  impl_->routes();
  auto bind = [&](httplib::Server& server, int port, const char* flag) {
    // httplib sets SO_REUSEPORT, which lets a second server share a port already in use and take half its
    // connections; SO_REUSEADDR alone still allows a quick restart after TIME_WAIT.
    server.set_socket_options([](int sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    int bound = port == 0 ? server.bind_to_any_port(o.host) : (server.bind_to_port(o.host, port) ? port : -1);
    SEQREC_CHECK(bound > 0, "cannot listen on ", o.host, ":", port, " (", flag,
                 "): the port is in use or the address is not local; pick another with ", flag);
    return bound;
  };
  impl_->api_port = bind(impl_->api, o.port, "--http-port");
  if (o.metrics_port >= 0) impl_->metrics_port = bind(impl_->metrics, o.metrics_port, "--metrics-port");
  impl_->started = true;
  impl_->api_thread = std::thread([this] { impl_->api.listen_after_bind(); });
  if (impl_->metrics_port > 0) impl_->metrics_thread = std::thread([this] { impl_->metrics.listen_after_bind(); });
  // httplib's stop() does nothing to a server not yet running, so stop() right after start() would hang
  // unless start() returns only once both loops run.
  while (!impl_->api.is_running() || (impl_->metrics_port > 0 && !impl_->metrics.is_running()))
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void HttpServer::stop() {
  if (!impl_->started) return;
  impl_->started = false;
  // Server::stop closes the listening socket; listen_after_bind then waits for its pool, so requests in
  // flight are answered before the thread joins.
  impl_->api.stop();
  impl_->metrics.stop();
  if (impl_->api_thread.joinable()) impl_->api_thread.join();
  if (impl_->metrics_thread.joinable()) impl_->metrics_thread.join();
}

int HttpServer::port() const { return impl_->api_port; }
int HttpServer::metrics_port() const { return impl_->metrics_port; }

}  // namespace seqrec::serve
