#include "gateway/front/reflection.h"

#include "absl/container/flat_hash_set.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace envelope {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;

// What both protocol versions need: the answers, over one pool.
class ReflectionCatalog {
 public:
  ReflectionCatalog(const DescriptorPool* pool,
                    std::vector<std::string> services)
      : pool_(pool), services_(std::move(services)) {}

  const std::vector<std::string>& services() const { return services_; }

  // The gateway's pool first, then the generated one (the reflection
  // service's own protos live there too).
  const FileDescriptor* FileByName(const std::string& name) const {
    const FileDescriptor* file = pool_->FindFileByName(name);
    return file != nullptr
               ? file
               : DescriptorPool::generated_pool()->FindFileByName(name);
  }

  const FileDescriptor* FileBySymbol(const std::string& symbol) const {
    for (const DescriptorPool* pool :
         {pool_, DescriptorPool::generated_pool()}) {
      if (const FileDescriptor* file = pool->FindFileContainingSymbol(symbol)) {
        return file;
      }
    }
    return nullptr;
  }

  const FileDescriptor* FileByExtension(const std::string& type,
                                        int number) const {
    for (const DescriptorPool* pool :
         {pool_, DescriptorPool::generated_pool()}) {
      const auto* message = pool->FindMessageTypeByName(type);
      if (message == nullptr) continue;
      if (const auto* extension =
              pool->FindExtensionByNumber(message, number)) {
        return extension->file();
      }
    }
    return nullptr;
  }

  bool ExtensionNumbers(const std::string& type, std::vector<int>* out) const {
    for (const DescriptorPool* pool :
         {pool_, DescriptorPool::generated_pool()}) {
      const auto* message = pool->FindMessageTypeByName(type);
      if (message == nullptr) continue;
      std::vector<const google::protobuf::FieldDescriptor*> extensions;
      pool->FindAllExtensions(message, &extensions);
      for (const auto* extension : extensions)
        out->push_back(extension->number());
      return true;
    }
    return false;
  }

  // `file` and everything it imports, each once, `file` first. json_name is
  // kept: other languages' clients need the API's member names.
  static std::vector<std::string> WithDependencies(const FileDescriptor* file) {
    std::vector<std::string> out;
    absl::flat_hash_set<const FileDescriptor*> seen;
    std::vector<const FileDescriptor*> stack = {file};
    while (!stack.empty()) {
      const FileDescriptor* next = stack.back();
      stack.pop_back();
      if (!seen.insert(next).second) continue;
      google::protobuf::FileDescriptorProto proto;
      next->CopyTo(&proto);
      next->CopyJsonNameTo(&proto);
      out.push_back(proto.SerializeAsString());
      for (int i = next->dependency_count() - 1; i >= 0; --i) {
        stack.push_back(next->dependency(i));
      }
    }
    return out;
  }

 private:
  const DescriptorPool* pool_;
  std::vector<std::string> services_;
};

namespace {

using Catalog = ReflectionCatalog;

// Answers one request; Request/Response are either protocol version's types.
template <typename Request, typename Response>
Response Answer(const Catalog& catalog, const Request& request) {
  Response response;
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  const FileDescriptor* file = nullptr;
  switch (request.message_request_case()) {
    case Request::kFileByFilename:
      file = catalog.FileByName(request.file_by_filename());
      break;
    case Request::kFileContainingSymbol:
      file = catalog.FileBySymbol(request.file_containing_symbol());
      break;
    case Request::kFileContainingExtension:
      file = catalog.FileByExtension(
          request.file_containing_extension().containing_type(),
          request.file_containing_extension().extension_number());
      break;
    case Request::kAllExtensionNumbersOfType: {
      std::vector<int> numbers;
      if (catalog.ExtensionNumbers(request.all_extension_numbers_of_type(),
                                   &numbers)) {
        auto* answer = response.mutable_all_extension_numbers_response();
        answer->set_base_type_name(request.all_extension_numbers_of_type());
        for (int n : numbers) answer->add_extension_number(n);
        return response;
      }
      break;
    }
    case Request::kListServices:
      for (const std::string& name : catalog.services()) {
        response.mutable_list_services_response()->add_service()->set_name(
            name);
      }
      return response;
    default:
      response.mutable_error_response()->set_error_code(
          static_cast<int>(grpc::StatusCode::UNIMPLEMENTED));
      response.mutable_error_response()->set_error_message(
          "unknown reflection request");
      return response;
  }
  if (file == nullptr) {
    response.mutable_error_response()->set_error_code(
        static_cast<int>(grpc::StatusCode::NOT_FOUND));
    response.mutable_error_response()->set_error_message("not found");
    return response;
  }
  for (std::string& bytes : Catalog::WithDependencies(file)) {
    response.mutable_file_descriptor_response()->add_file_descriptor_proto(
        std::move(bytes));
  }
  return response;
}

// One reflection stream: read a request, write its answer, until the client
// half-closes.
template <typename Request, typename Response>
class StreamReactor : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit StreamReactor(const Catalog* catalog) : catalog_(catalog) {
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      this->Finish(grpc::Status::OK);
      return;
    }
    response_ = Answer<Request, Response>(*catalog_, request_);
    this->StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      this->Finish(grpc::Status(grpc::StatusCode::UNKNOWN, "write failed"));
      return;
    }
    this->StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  const Catalog* catalog_;
  Request request_;
  Response response_;
};

}  // namespace

// The service of one protocol version; `Service` is that version's
// generated ServerReflection class.
template <typename Service, typename Request, typename Response>
class ReflectionService : public Service::CallbackService {
 public:
  explicit ReflectionService(const Catalog* catalog) : catalog_(catalog) {}
  grpc::ServerBidiReactor<Request, Response>* ServerReflectionInfo(
      grpc::CallbackServerContext*) override {
    return new StreamReactor<Request, Response>(catalog_);
  }

 private:
  const Catalog* catalog_;
};

class ReflectionServices::V1Alpha
    : public ReflectionService<
          grpc::reflection::v1alpha::ServerReflection,
          grpc::reflection::v1alpha::ServerReflectionRequest,
          grpc::reflection::v1alpha::ServerReflectionResponse> {
  using ReflectionService::ReflectionService;
};

class ReflectionServices::V1
    : public ReflectionService<grpc::reflection::v1::ServerReflection,
                               grpc::reflection::v1::ServerReflectionRequest,
                               grpc::reflection::v1::ServerReflectionResponse> {
  using ReflectionService::ReflectionService;
};

ReflectionServices::ReflectionServices(const DescriptorPool* pool,
                                       std::vector<std::string> services) {
  services.push_back("grpc.reflection.v1alpha.ServerReflection");
  services.push_back("grpc.reflection.v1.ServerReflection");
  catalog_ = std::make_unique<ReflectionCatalog>(pool, std::move(services));
  v1alpha_ = std::make_unique<V1Alpha>(catalog_.get());
  v1_ = std::make_unique<V1>(catalog_.get());
}

ReflectionServices::~ReflectionServices() = default;

std::vector<grpc::Service*> ReflectionServices::services() {
  return {v1alpha_.get(), v1_.get()};
}

}  // namespace envelope
