#include "gateway/route/router.h"

#include <fstream>
#include <sstream>

#include "envelope/gateway/v1/options.pb.h"
#include "gateway/route/bundled_descriptors.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"

namespace envelope {
namespace {

// The bundled files kept encoded, as the gateway loads them.
Router::DescriptorSet Bundled() { return {"bundled", "", &BundledFiles()}; }

// The same as a serialized set (a later set, or a first set given as bytes).
Router::DescriptorSet BundledBytes() {
  return {"bundled", std::string(BundledDescriptorSet())};
}

Router::DescriptorSet FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return {path, bytes.str()};
}

TEST(RouterTest, ParsesTencentCloudPackages) {
  std::string service, version;
  ASSERT_TRUE(ParseTencentCloudPackage("tencentcloud.cvm.v20170312", &service,
                                       &version));
  EXPECT_EQ(service, "cvm");
  EXPECT_EQ(version, "2017-03-12");
  EXPECT_FALSE(
      ParseTencentCloudPackage("tencentcloud.cvm", &service, &version));
  EXPECT_FALSE(ParseTencentCloudPackage("tencentcloud.cvm.v2017031", &service,
                                        &version));
  EXPECT_FALSE(ParseTencentCloudPackage("tencentcloud.cvm.vABCDEFGH", &service,
                                        &version));
  EXPECT_FALSE(
      ParseTencentCloudPackage("acme.cvm.v20170312", &service, &version));
}

TEST(RouterTest, RoutesEveryBundledProductByPackage) {
  auto router = Router::Create({BundledBytes()});
  ASSERT_TRUE(router.ok()) << router.status();
  const MethodRoute* route =
      (*router)->Find("/tencentcloud.vpc.v20170312.Vpc/DescribeVpcs");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->service, "vpc");
  EXPECT_EQ(route->version, "2017-03-12");
  EXPECT_EQ(route->action, "DescribeVpcs");
  EXPECT_FALSE(route->untyped);
  EXPECT_EQ(route->request_prototype->GetDescriptor()->full_name(),
            "tencentcloud.vpc.v20170312.DescribeVpcsRequest");
  std::vector<std::string> services = (*router)->ServiceNames();
  for (const char* name :
       {"tencentcloud.cam.v20190116.Cam", "tencentcloud.cvm.v20170312.Cvm",
        "tencentcloud.kms.v20190118.Kms", "tencentcloud.sts.v20180813.Sts",
        "tencentcloud.tag.v20180813.Tag", "tencentcloud.vpc.v20170312.Vpc",
        "envelope.gateway.v1.JsonApi"}) {
    EXPECT_NE(std::find(services.begin(), services.end(), name), services.end())
        << name;
  }
  const MethodRoute* untyped =
      (*router)->Find("/envelope.gateway.v1.JsonApi/Call");
  ASSERT_NE(untyped, nullptr);
  EXPECT_TRUE(untyped->untyped);
  EXPECT_EQ((*router)->Find("/tencentcloud.cvm.v20170312.Cvm/NoSuchAction"),
            nullptr);
  EXPECT_EQ((*router)->Find("garbage"), nullptr);
}

TEST(RouterTest, CustomOptionsRouteACompanyApi) {
  auto router = Router::Create({Bundled(), FromFile(ACME_DESCRIPTOR_SET)});
  ASSERT_TRUE(router.ok()) << router.status();
  const MethodRoute* route =
      (*router)->Find("/acme.billing.v1.Billing/GetInvoice");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->service, "billing");
  EXPECT_EQ(route->version, "2024-01-01");
  EXPECT_EQ(route->action, "DescribeInvoice");
}

TEST(RouterTest, TheSameFileTwiceIsFine) {
  auto router = Router::Create({Bundled(), BundledBytes()});
  EXPECT_TRUE(router.ok()) << router.status();
}

TEST(RouterTest, BadSetsStopWithAClearMessage) {
  auto garbage = Router::Create({Bundled(), {"junk.pb", "\xff\xff\xff"}});
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("junk.pb"), std::string::npos);

  // The acme file without its imports cannot build on an empty pool.
  auto missing = Router::Create({FromFile(ACME_DESCRIPTOR_SET_NO_IMPORTS)});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--include_imports"),
            std::string::npos)
      << missing.status();

  // Two later sets that define the same company file differently conflict.
  google::protobuf::FileDescriptorSet acme;
  acme.ParseFromString(FromFile(ACME_DESCRIPTOR_SET).bytes);
  for (auto& file : *acme.mutable_file()) {
    if (file.package() == "acme.billing.v1") {
      file.mutable_message_type(0)->mutable_field(0)->set_name("renamed");
    }
  }
  auto conflict = Router::Create({Bundled(),
                                  FromFile(ACME_DESCRIPTOR_SET),
                                  {"acme-other.pb", acme.SerializeAsString()}});
  ASSERT_FALSE(conflict.ok());
  EXPECT_NE(conflict.status().message().find("acme-other.pb: redefines"),
            std::string::npos)
      << conflict.status();
}

// A company set made against an older options.proto (or by another protoc,
// with its own descriptor.proto) carries differing copies of bundled files:
// the bundled ones serve, and its own files load.
TEST(RouterTest, ALaterSetsCopyOfABundledFileIsLeftOut) {
  google::protobuf::FileDescriptorSet acme;
  acme.ParseFromString(FromFile(ACME_DESCRIPTOR_SET).bytes);
  bool found = false;
  for (auto& file : *acme.mutable_file()) {
    if (file.name() != "envelope/gateway/v1/options.proto") continue;
    auto* route = file.mutable_message_type(0);
    ASSERT_EQ(route->name(), "Route");
    route->mutable_field()->RemoveLast();  // as before error_domain
    found = true;
  }
  ASSERT_TRUE(found);
  auto router =
      Router::Create({Bundled(), {"old-acme.pb", acme.SerializeAsString()}});
  ASSERT_TRUE(router.ok()) << router.status();
  EXPECT_NE((*router)->Find("/acme.billing.v1.Billing/GetInvoice"), nullptr);
  EXPECT_EQ((*router)->load_notes(),
            std::vector<std::string>{
                "old-acme.pb's copy of envelope/gateway/v1/options.proto "
                "differs; the bundled one serves"});
  // The bundled options.proto (with error_domain) is the one in the pool.
  const auto* route_type =
      (*router)->pool().FindMessageTypeByName("envelope.gateway.v1.Route");
  ASSERT_NE(route_type, nullptr);
  EXPECT_NE(route_type->FindFieldByName("error_domain"), nullptr);
}

// One company API method whose route options are `route`, as a set that
// builds on the bundled one (which holds options.proto).
Router::DescriptorSet CompanySet(const envelope::gateway::v1::Route& route) {
  google::protobuf::FileDescriptorProto file;
  file.set_name("acme/route_check.proto");
  file.set_package("acme.check.v1");
  file.set_syntax("proto3");
  file.add_dependency("envelope/gateway/v1/options.proto");
  file.add_message_type()->set_name("Req");
  file.add_message_type()->set_name("Resp");
  auto* service = file.add_service();
  service->set_name("Check");
  auto* method = service->add_method();
  method->set_name("Get");
  method->set_input_type(".acme.check.v1.Req");
  method->set_output_type(".acme.check.v1.Resp");
  *method->mutable_options()->MutableExtension(
      envelope::gateway::v1::method_route) = route;
  google::protobuf::FileDescriptorSet set;
  *set.add_file() = file;
  return {"route_check.pb", set.SerializeAsString()};
}

envelope::gateway::v1::Route GoodRoute() {
  envelope::gateway::v1::Route route;
  route.set_service("billing");
  route.set_version("2024-01-01");
  route.set_action("DescribeThing");
  route.set_endpoint("https://billing.example.com");
  return route;
}

TEST(RouterTest, RouteOptionsAreCheckedAtStartUp) {
  auto good = Router::Create({Bundled(), CompanySet(GoodRoute())});
  ASSERT_TRUE(good.ok()) << good.status();
  const MethodRoute* route = (*good)->Find("/acme.check.v1.Check/Get");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->endpoint, "https://billing.example.com");

  struct Case {
    const char* what;
    void (*spoil)(envelope::gateway::v1::Route&);
    const char* says;
  } cases[] = {
      {"endpoint with a path",
       [](auto& r) { r.set_endpoint("https://billing.example.com/v2"); },
       "has a path"},
      {"endpoint not http(s)",
       [](auto& r) { r.set_endpoint("ftp://billing.example.com"); },
       "must start with https://"},
      {"plain http endpoint",
       [](auto& r) { r.set_endpoint("http://billing.example.com"); },
       "--allow-plain-http-routes"},
      {"version not a date", [](auto& r) { r.set_version("2024-1-1"); },
       "is not YYYY-MM-DD"},
      {"action with a header break",
       [](auto& r) { r.set_action("Get\r\nX-Evil: 1"); }, "route action"},
      {"service with a dot", [](auto& r) { r.set_service("bill.ing"); },
       "route service"},
      {"endpoint with user info",
       [](auto& r) { r.set_endpoint("https://user@billing.example.com"); },
       "cannot have"},
      {"endpoint with a header break",
       [](auto& r) { r.set_endpoint("https://billing.example.com\r\nX: 1"); },
       "cannot have"},
      {"no version", [](auto& r) { r.clear_version(); },
       "route options need both a service and a version"},
  };
  for (const Case& c : cases) {
    envelope::gateway::v1::Route bad = GoodRoute();
    c.spoil(bad);
    auto router = Router::Create({Bundled(), CompanySet(bad)});
    ASSERT_FALSE(router.ok()) << c.what;
    const std::string message(router.status().message());
    EXPECT_NE(message.find(c.says), std::string::npos)
        << c.what << ": " << message;
    // Named down to the set and the method.
    EXPECT_NE(message.find("route_check.pb"), std::string::npos) << message;
    EXPECT_NE(message.find("/acme.check.v1.Check/Get"), std::string::npos)
        << message;
  }

  envelope::gateway::v1::Route plain = GoodRoute();
  plain.set_endpoint("http://billing.example.com:8080");
  auto allowed = Router::Create({Bundled(), CompanySet(plain)},
                                {.allow_plain_http_endpoints = true});
  EXPECT_TRUE(allowed.ok()) << allowed.status();
}

// A newer version of a bundled product, loaded at start-up: its new action
// is routed without a rebuild.
TEST(RouterTest, ALaterSetReplacesABundledProductFile) {
  const std::string cvm_file = "tencentcloud/cvm/v20170312/cvm.proto";
  google::protobuf::FileDescriptorSet newer;
  newer.ParseFromString(std::string(BundledDescriptorSet()));
  bool found = false;
  for (auto& file : *newer.mutable_file()) {
    if (file.name() != cvm_file) continue;
    auto* method = file.mutable_service(0)->add_method();
    *method = file.service(0).method(0);
    method->set_name("DescribeSomethingNew");
    found = true;
  }
  ASSERT_TRUE(found);
  auto router =
      Router::Create({Bundled(), {"newer-cvm.pb", newer.SerializeAsString()}});
  ASSERT_TRUE(router.ok()) << router.status();
  const MethodRoute* route =
      (*router)->Find("/tencentcloud.cvm.v20170312.Cvm/DescribeSomethingNew");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->service, "cvm");
  EXPECT_EQ(route->action, "DescribeSomethingNew");
  EXPECT_NE((*router)->Find("/tencentcloud.cvm.v20170312.Cvm/DescribeZones"),
            nullptr);
  EXPECT_EQ((*router)->load_notes(),
            std::vector<std::string>{cvm_file + " replaced by newer-cvm.pb"});
  // Nothing is replaced by an identical file.
  auto same = Router::Create({Bundled(), BundledBytes()});
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_TRUE((*same)->load_notes().empty());
  // Another set that carries the bundled version too (a company set made
  // with --include_imports) does not conflict, before or after it.
  for (bool newer_first : {true, false}) {
    std::vector<Router::DescriptorSet> sets = {Bundled()};
    Router::DescriptorSet newer_set = {"newer-cvm.pb",
                                       newer.SerializeAsString()};
    Router::DescriptorSet old_copy = {"company.pb",
                                      std::string(BundledDescriptorSet())};
    sets.push_back(newer_first ? newer_set : old_copy);
    sets.push_back(newer_first ? old_copy : newer_set);
    auto both = Router::Create(sets);
    ASSERT_TRUE(both.ok()) << both.status();
    EXPECT_NE(
        (*both)->Find("/tencentcloud.cvm.v20170312.Cvm/DescribeSomethingNew"),
        nullptr);
  }
}

// A replacement keeps the bundled file's package and every method.
TEST(RouterTest, AReplacementThatDropsAMethodIsRefused) {
  google::protobuf::FileDescriptorSet fewer;
  fewer.ParseFromString(std::string(BundledDescriptorSet()));
  std::string dropped;
  for (auto& file : *fewer.mutable_file()) {
    if (file.name() != "tencentcloud/cvm/v20170312/cvm.proto") continue;
    dropped = file.service(0).method(0).name();
    file.mutable_service(0)->mutable_method()->DeleteSubrange(0, 1);
  }
  ASSERT_FALSE(dropped.empty());
  auto router =
      Router::Create({Bundled(), {"fewer.pb", fewer.SerializeAsString()}});
  ASSERT_FALSE(router.ok());
  EXPECT_NE(router.status().message().find(
                "fewer.pb: tencentcloud/cvm/v20170312/cvm.proto: replaces a "
                "bundled product but drops /tencentcloud.cvm.v20170312.Cvm/" +
                dropped),
            std::string::npos)
      << router.status();
}

}  // namespace
}  // namespace envelope
