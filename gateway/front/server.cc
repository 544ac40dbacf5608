#include "gateway/front/server.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gateway/front/reflection.h"

namespace envelope {
namespace {

std::string Metadata(const grpc::GenericCallbackServerContext& context,
                     absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

absl::Time Deadline(const grpc::GenericCallbackServerContext& context) {
  auto deadline = context.deadline();
  // gRPC reports "no deadline" as a time far in the future.
  if (deadline >
      std::chrono::system_clock::now() + std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool ToString(const grpc::ByteBuffer& buffer, std::string* out) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  out->clear();
  for (const auto& slice : slices) {
    out->append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return true;
}

// One unary call: read the request, dispatch, write the answer and finish.
class CallReactor : public grpc::ServerGenericBidiReactor {
 public:
  CallReactor(grpc::GenericCallbackServerContext* context,
              Dispatcher* dispatcher)
      : context_(context), dispatcher_(dispatcher) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      if (MarkFinished()) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "the call carried no request message"));
      }
      Unref();  // no dispatch
      return;
    }
    GrpcCall call;
    call.method = context_->method();
    call.region = Metadata(*context_, "x-tc-region");
    call.language = Metadata(*context_, "x-tc-language");
    call.deadline = Deadline(*context_);
    if (!ToString(request_, &call.payload)) {
      if (MarkFinished()) {
        Finish(grpc::Status(grpc::StatusCode::INTERNAL, "unreadable request"));
      }
      Unref();  // no dispatch
      return;
    }
    // The call may end (and OnDone run) before Dispatch returns: hold a
    // reference until the canceller is stored.
    refs_.fetch_add(1);
    Dispatcher::Canceller cancel =
        dispatcher_->Dispatch(std::move(call), [this](GrpcResult result) {
          Answer(std::move(result));
          Unref();
        });
    StoreCanceller(std::move(cancel));
    Unref();
  }

  // The caller went away, or the server is past its shutdown grace: end the
  // call now; the upstream answer, when it comes, is dropped.
  void OnCancel() override {
    if (MarkFinished()) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                          "call cancelled before the upstream answered"));
    }
    // Abort the upstream request too: nobody waits for its answer.
    Dispatcher::Canceller cancel;
    {
      absl::MutexLock lock(&cancel_mu_);
      cancelled_ = true;
      cancel = std::move(cancel_);
    }
    if (cancel) std::move(cancel)();
  }

  void OnWriteDone(bool ok) override {}
  void OnDone() override { Unref(); }

 private:
  // OnCancel may already have run (on another thread) during Dispatch: then
  // cancel at once.
  void StoreCanceller(Dispatcher::Canceller cancel) {
    absl::MutexLock lock(&cancel_mu_);
    if (cancelled_) {
      std::move(cancel)();
    } else {
      cancel_ = std::move(cancel);
    }
  }

  // True for the one caller that gets to finish the call.
  bool MarkFinished() { return !finished_.exchange(true); }

  // Two owners: gRPC (until OnDone) and the dispatch (until its callback).
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  void Answer(GrpcResult result) {
    if (!MarkFinished()) return;
    if (!result.request_id.empty()) {
      context_->AddTrailingMetadata("x-tc-requestid", result.request_id);
    }
    if (!result.error_code.empty()) {
      context_->AddTrailingMetadata("x-tc-error-code", result.error_code);
    }
    if (result.code != absl::StatusCode::kOk) {
      Finish(grpc::Status(static_cast<grpc::StatusCode>(result.code),
                          result.message, result.details));
      return;
    }
    response_ = ToByteBuffer(result.payload);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }

  grpc::GenericCallbackServerContext* context_;
  Dispatcher* dispatcher_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::atomic<bool> finished_{false};
  absl::Mutex cancel_mu_;
  bool cancelled_ ABSL_GUARDED_BY(cancel_mu_) = false;
  Dispatcher::Canceller cancel_ ABSL_GUARDED_BY(cancel_mu_);
  std::atomic<int> refs_{2};
};

}  // namespace

class GatewayServer::Service : public grpc::CallbackGenericService {
 public:
  explicit Service(Dispatcher* dispatcher) : dispatcher_(dispatcher) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new CallReactor(context, dispatcher_);
  }

 private:
  Dispatcher* dispatcher_;
};

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(
    const ServerOptions& options, const Router* router,
    Dispatcher* dispatcher) {
  std::unique_ptr<GatewayServer> server(new GatewayServer());
  server->service_ = std::make_unique<Service>(dispatcher);
  server->reflection_ = std::make_unique<ReflectionServices>(
      &router->pool(), router->ServiceNames());
  grpc::ServerBuilder builder;
  for (grpc::Service* service : server->reflection_->services()) {
    builder.RegisterService(service);
  }
  server->ports_.resize(options.listen.size());
  for (size_t i = 0; i < options.listen.size(); ++i) {
    builder.AddListeningPort(options.listen[i],
                             grpc::InsecureServerCredentials(),
                             &server->ports_[i]);
  }
  builder.RegisterCallbackGenericService(server->service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_request_bytes));
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.listen.empty() ? "" : options.listen[0],
        " (address in use or not valid?)"));
  }
  for (size_t i = 0; i < options.listen.size(); ++i) {
    bool unix_socket = options.listen[i].rfind("unix:", 0) == 0;
    if (!unix_socket && server->ports_[i] == 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options.listen[i]));
    }
  }
  return server;
}

GatewayServer::~GatewayServer() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
}

void GatewayServer::Shutdown(absl::Duration grace) {
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

void GatewayServer::Wait() { server_->Wait(); }

}  // namespace envelope
