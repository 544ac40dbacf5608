// gateway/transcode/multipart.h: the multipart/form-data form of requests
// with binary members, in the official SDK's layout.
#include "gateway/transcode/multipart.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/protos/test_types.pb.h"

namespace envelope {
namespace {

using envelope::test::AllTypes;

TEST(TakesMultipartTest, ARequestWithATopLevelBytesFieldTakesAForm) {
  EXPECT_TRUE(TakesMultipart(*AllTypes::descriptor()));  // Blob
  EXPECT_FALSE(TakesMultipart(*envelope::test::Inner::descriptor()));
}

TEST(MultipartContentTypeTest, ANewRandomBoundaryEachTime) {
  std::string first, second;
  const std::string content_type = MultipartContentType(&first);
  MultipartContentType(&second);
  EXPECT_EQ(content_type, "multipart/form-data; boundary=" + first);
  EXPECT_EQ(first.size(), 32u);
  EXPECT_EQ(first.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(first, second);
}

TEST(MessageToMultipartTest, EachSetMemberIsAPartInFieldOrder) {
  AllTypes request;
  request.set_blob(std::string("%PDF\0\xff\r\n", 8));
  request.set_text("https://example.com/a b");
  request.set_i64(5);
  request.set_flag(true);
  request.add_names("x");
  request.mutable_placement()->set_zone("ap-guangzhou-3");
  std::string body;
  ASSERT_TRUE(MessageToMultipart(request, "b0", &body).ok());
  EXPECT_EQ(body,
            "--b0\r\nContent-Disposition: form-data; name=\"I64\"\r\n\r\n"
            "5\r\n"
            "--b0\r\nContent-Disposition: form-data; name=\"Flag\"\r\n\r\n"
            "true\r\n"
            "--b0\r\nContent-Disposition: form-data; name=\"Text\"\r\n\r\n"
            "https://example.com/a b\r\n"
            "--b0\r\nContent-Disposition: form-data; name=\"Blob\"; "
            "filename=\"Blob\"\r\n\r\n" +
                std::string("%PDF\0\xff\r\n", 8) +
                "\r\n"
                "--b0\r\nContent-Disposition: form-data; name=\"Names\"\r\n"
                "Content-Type: application/json\r\n\r\n[\"x\"]\r\n"
                "--b0\r\nContent-Disposition: form-data; name=\"Placement\"\r\n"
                "Content-Type: application/json\r\n\r\n"
                "{\"Zone\":\"ap-guangzhou-3\"}\r\n"
                "--b0--\r\n");
}

TEST(MessageToMultipartTest, NothingSetIsAnEmptyBody) {
  std::string body;
  ASSERT_TRUE(MessageToMultipart(AllTypes(), "b0", &body).ok());
  EXPECT_EQ(body, "");
}

TEST(MessageToMultipartTest, AStringThatIsNotUtf8IsRefused) {
  AllTypes request;
  request.set_text("\xff");
  std::string body;
  EXPECT_EQ(MessageToMultipart(request, "b0", &body).code(),
            absl::StatusCode::kInvalidArgument);
  AllTypes nested;
  nested.add_names("\xc3");
  EXPECT_EQ(MessageToMultipart(nested, "b0", &body).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace envelope
