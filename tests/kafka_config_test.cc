#include "src/kafka_config.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace scrc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

EnvLookup MapEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(KafkaConfigTest, DefaultsAreTheReferenceRunners) {
  ConfigErrors errors;
  const KafkaConfig c = ReadKafkaConfig(MapEnv({}), errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(c.brokers, "kafka:9092");
  EXPECT_EQ(c.topic, "scripts");
  EXPECT_EQ(c.group_id, "scrc-runner");
  EXPECT_EQ(c.results_topic, "script-results");
  EXPECT_EQ(c.script_expected, 0);
}

TEST(KafkaConfigTest, EveryProblemIsListedAtOnce) {
  ConfigErrors errors;
  ReadKafkaConfig(MapEnv({{"KAFKA_BROKERS", "kafka1:9092,nohost"},
                          {"KAFKA_TOPIC", "bad topic!"},
                          {"SCRIPT_EXPECTED", "-3"},
                          {"KAFKA_SECURITY_PROTOCOL", "tls"}}),
                  errors);
  const std::string message(errors.ToStatus().message());
  EXPECT_THAT(message, HasSubstr("4 problems"));
  EXPECT_THAT(message, HasSubstr("KAFKA_BROKERS: 'nohost' is not host:port"));
  EXPECT_THAT(message, HasSubstr("KAFKA_TOPIC: 'bad topic!' has characters"));
  EXPECT_THAT(message, HasSubstr("SCRIPT_EXPECTED: must be >= 0"));
  EXPECT_THAT(message, HasSubstr("KAFKA_SECURITY_PROTOCOL: must be"));
}

TEST(KafkaConfigTest, ResultsTopicMustDifferFromScriptsTopic) {
  ConfigErrors errors;
  ReadKafkaConfig(
      MapEnv({{"KAFKA_TOPIC", "same"}, {"KAFKA_RESULTS_TOPIC", "same"}}),
      errors);
  EXPECT_THAT(std::string(errors.ToStatus().message()),
              HasSubstr("KAFKA_RESULTS_TOPIC: must differ from KAFKA_TOPIC"));
}

TEST(KafkaConfigTest, SaslNeedsCredentialsAndTheSummaryHidesThePassword) {
  ConfigErrors missing;
  ReadKafkaConfig(MapEnv({{"KAFKA_SECURITY_PROTOCOL", "SASL_SSL"}}), missing);
  EXPECT_THAT(std::string(missing.ToStatus().message()),
              HasSubstr("KAFKA_SASL_PASSWORD: required"));

  ConfigErrors errors;
  const KafkaConfig c =
      ReadKafkaConfig(MapEnv({{"KAFKA_SECURITY_PROTOCOL", "sasl_ssl"},
                              {"KAFKA_SASL_USERNAME", "runner"},
                              {"KAFKA_SASL_PASSWORD", "hunter2"}}),
                      errors);
  EXPECT_TRUE(errors.empty()) << errors.ToStatus();
  EXPECT_EQ(c.sasl_mechanism, "PLAIN");
  const std::string summary = DescribeKafkaConfig(c);
  EXPECT_THAT(summary, HasSubstr("runner"));
  EXPECT_THAT(summary, Not(HasSubstr("hunter2")));
  bool has_password = false;
  for (const auto& [name, value] : KafkaCommonProperties(c)) {
    if (name == "sasl.password") has_password = value == "hunter2";
  }
  EXPECT_TRUE(has_password);
}

TEST(KafkaConfigTest, SaslVariablesWithoutSaslProtocolAreRefused) {
  ConfigErrors errors;
  ReadKafkaConfig(MapEnv({{"KAFKA_SASL_USERNAME", "runner"}}), errors);
  EXPECT_THAT(std::string(errors.ToStatus().message()),
              HasSubstr("KAFKA_SECURITY_PROTOCOL: must be sasl_plaintext"));
}

}  // namespace
}  // namespace scrc
