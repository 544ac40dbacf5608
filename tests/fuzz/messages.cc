#include "tests/fuzz/messages.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "gateway/route/bundled_descriptors.h"
#include "gateway/route/router.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/stubs/logging.h"
#include "tests/protos/test_types.pb.h"

namespace envelope::fuzz {
namespace {

struct Catalog {
  std::unique_ptr<Router> router;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory;
};

const Catalog& TheCatalog() {
  static const Catalog* catalog = [] {
    absl::StatusOr<std::unique_ptr<Router>> router =
        Router::Create({{"bundled", "", &BundledFiles()}});
    if (!router.ok()) {
      std::fprintf(stderr, "fuzz: the bundled descriptors do not load: %s\n",
                   router.status().ToString().c_str());
      std::abort();
    }
    // protobuf logs every string with invalid UTF-8 it refuses to parse:
    // the fuzzers make thousands a second, and the logging slows them.
    google::protobuf::SetLogHandler(nullptr);
    auto* c = new Catalog;
    c->router = *std::move(router);
    c->factory = std::make_unique<google::protobuf::DynamicMessageFactory>(
        &c->router->pool());
    // The generated test protos register their descriptors only when the
    // object file is linked in: naming one keeps it.
    (void)envelope::test::WellKnown::default_instance();
    return c;
  }();
  return *catalog;
}

}  // namespace

const google::protobuf::Message* FindPrototype(absl::string_view full_name) {
  const Catalog& c = TheCatalog();
  const std::string name(full_name);
  if (const auto* d = c.router->pool().FindMessageTypeByName(name)) {
    return c.factory->GetPrototype(d);
  }
  if (const auto* d = google::protobuf::DescriptorPool::generated_pool()
                          ->FindMessageTypeByName(name)) {
    return google::protobuf::MessageFactory::generated_factory()->GetPrototype(
        d);
  }
  return nullptr;
}

}  // namespace envelope::fuzz
