#include "src/kafka_config.h"

#include <limits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace scrc {
namespace {

// Kafka's own rule for topic names (kafka.common.Topic).
bool ValidTopicName(const std::string& name, std::string* why) {
  if (name.size() > 249) {
    *why = absl::StrCat("longer than 249 characters (", name.size(), ")");
    return false;
  }
  if (name == "." || name == "..") {
    *why = "'.' and '..' are not topic names";
    return false;
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      *why = absl::StrCat(
          "'", name,
          "' has characters other than letters, digits, '.', '_', '-'");
      return false;
    }
  }
  return true;
}

void CheckBrokers(const std::string& brokers, ConfigErrors& errors) {
  for (absl::string_view entry : absl::StrSplit(brokers, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    // Tolerate librdkafka's optional protocol prefix.
    const size_t scheme = entry.find("://");
    if (scheme != absl::string_view::npos) entry.remove_prefix(scheme + 3);
    const size_t colon = entry.rfind(':');
    int port = 0;
    if (entry.empty() || colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(entry.substr(colon + 1), &port) || port < 1 ||
        port > 65535) {
      errors.Add("KAFKA_BROKERS",
                 absl::StrCat("'", entry,
                              "' is not host:port (comma separated list, "
                              "e.g. kafka1:9092,kafka2:9092)"));
    }
  }
}

}  // namespace

KafkaConfig ReadKafkaConfig(const EnvLookup& env, ConfigErrors& errors) {
  KafkaConfig c;
  c.brokers = EnvString(env, "KAFKA_BROKERS", c.brokers);
  CheckBrokers(c.brokers, errors);
  c.topic = EnvString(env, "KAFKA_TOPIC", c.topic);
  c.results_topic = EnvString(env, "KAFKA_RESULTS_TOPIC", c.results_topic);
  std::string why;
  if (!ValidTopicName(c.topic, &why)) errors.Add("KAFKA_TOPIC", why);
  if (!ValidTopicName(c.results_topic, &why)) {
    errors.Add("KAFKA_RESULTS_TOPIC", why);
  }
  if (c.topic == c.results_topic) {
    errors.Add("KAFKA_RESULTS_TOPIC",
               absl::StrCat("must differ from KAFKA_TOPIC (both '", c.topic,
                            "': results would be read back as submissions)"));
  }
  c.group_id = EnvString(env, "KAFKA_GROUP_ID", c.group_id);
  c.script_expected = EnvInt(env, "SCRIPT_EXPECTED", 0, 0,
                             std::numeric_limits<int64_t>::max(), errors);

  c.security_protocol =
      absl::AsciiStrToLower(EnvString(env, "KAFKA_SECURITY_PROTOCOL", ""));
  if (!c.security_protocol.empty() && c.security_protocol != "plaintext" &&
      c.security_protocol != "ssl" && c.security_protocol != "sasl_plaintext" &&
      c.security_protocol != "sasl_ssl") {
    errors.Add("KAFKA_SECURITY_PROTOCOL",
               absl::StrCat("must be plaintext, ssl, sasl_plaintext or "
                            "sasl_ssl (got '",
                            c.security_protocol, "')"));
  }
  c.sasl_mechanism = EnvString(env, "KAFKA_SASL_MECHANISM", "");
  c.sasl_username = EnvString(env, "KAFKA_SASL_USERNAME", "");
  c.sasl_password = EnvString(env, "KAFKA_SASL_PASSWORD", "");
  const bool sasl = absl::StartsWith(c.security_protocol, "sasl_");
  if (sasl) {
    if (c.sasl_mechanism.empty()) c.sasl_mechanism = "PLAIN";
    if (c.sasl_mechanism != "PLAIN" && c.sasl_mechanism != "SCRAM-SHA-256" &&
        c.sasl_mechanism != "SCRAM-SHA-512") {
      errors.Add("KAFKA_SASL_MECHANISM",
                 absl::StrCat("must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 "
                              "(got '",
                              c.sasl_mechanism, "')"));
    }
    if (c.sasl_username.empty()) {
      errors.Add("KAFKA_SASL_USERNAME",
                 absl::StrCat("required with KAFKA_SECURITY_PROTOCOL=",
                              c.security_protocol));
    }
    if (c.sasl_password.empty()) {
      errors.Add("KAFKA_SASL_PASSWORD",
                 absl::StrCat("required with KAFKA_SECURITY_PROTOCOL=",
                              c.security_protocol));
    }
  } else if (!c.sasl_mechanism.empty() || !c.sasl_username.empty() ||
             !c.sasl_password.empty()) {
    errors.Add("KAFKA_SECURITY_PROTOCOL",
               "must be sasl_plaintext or sasl_ssl when KAFKA_SASL_* is set");
  }
  return c;
}

KafkaProperties KafkaCommonProperties(const KafkaConfig& config) {
  KafkaProperties properties = {{"bootstrap.servers", config.brokers},
                                {"client.id", "scrc"}};
  if (!config.security_protocol.empty()) {
    properties.emplace_back("security.protocol", config.security_protocol);
  }
  if (absl::StartsWith(config.security_protocol, "sasl_")) {
    properties.emplace_back("sasl.mechanism", config.sasl_mechanism);
    properties.emplace_back("sasl.username", config.sasl_username);
    properties.emplace_back("sasl.password", config.sasl_password);
  }
  return properties;
}

std::string DescribeKafkaConfig(const KafkaConfig& config) {
  std::string out;
  const auto line = [&out](const char* name, const std::string& value) {
    absl::StrAppendFormat(&out, "  %-24s %s\n", name, value);
  };
  line("KAFKA_BROKERS", config.brokers);
  line("KAFKA_TOPIC", config.topic);
  line("KAFKA_GROUP_ID", config.group_id);
  line("KAFKA_RESULTS_TOPIC", config.results_topic);
  line("SCRIPT_EXPECTED", config.script_expected == 0
                              ? std::string("0 (unlimited)")
                              : absl::StrCat(config.script_expected));
  if (!config.security_protocol.empty()) {
    line("KAFKA_SECURITY_PROTOCOL", config.security_protocol);
  }
  if (!config.sasl_username.empty()) {
    line("KAFKA_SASL_MECHANISM", config.sasl_mechanism);
    line("KAFKA_SASL_USERNAME", config.sasl_username);
    line("KAFKA_SASL_PASSWORD", "******");
  }
  return out;
}

}  // namespace scrc
