#include "src/profile.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rapidjson/document.h"
#include "src/json_type.h"
#include "rapidjson/error/en.h"

namespace scrc {
namespace {

using rapidjson::Value;

constexpr size_t kMaxProfileBytes = 1 << 20;
constexpr int64_t kMiB = 1 << 20;

// Placeholders a profile may use, with stand-in values for validation.
const Placeholders& KnownPlaceholders() {
  static const auto* known = new Placeholders{
      {"source", "main"},       {"class", "Main"},
      {"memory_mb", "256"},     {"heap_mb", "192"},
      {"time_limit_s", "1"},    {"time_limit_ms", "1000"},
  };
  return *known;
}

// Collects "<origin>: <field>: <what>" problems of one profile file.
class Reader {
 public:
  explicit Reader(std::string_view origin) : origin_(origin) {}

  void Problem(std::string_view field, std::string_view what) {
    problems_.push_back(
        absl::StrCat(std::string(field), ": ", std::string(what)));
  }

  absl::Status ToStatus() const {
    if (problems_.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(origin_, ": ", absl::StrJoin(problems_, "; ")));
  }

  // Unknown keys are typos more often than not: refuse them.
  void CheckKeys(const Value& object, std::string_view prefix,
                 std::initializer_list<const char*> allowed) {
    for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
      const std::string key(it->name.GetString(), it->name.GetStringLength());
      if (std::none_of(allowed.begin(), allowed.end(),
                       [&](const char* a) { return key == a; })) {
        Problem(Join(prefix, key),
                absl::StrCat("unknown key (known: ",
                             absl::StrJoin(allowed, ", "), ")"));
      }
    }
  }

  static std::string Join(std::string_view prefix, std::string_view key) {
    if (prefix.empty()) return std::string(key);
    return absl::StrCat(std::string(prefix), ".", std::string(key));
  }

  const Value* Member(const Value& object, const char* key) {
    const auto it = object.FindMember(key);
    if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
    return &it->value;
  }

  std::optional<std::string> String(const Value& object, const char* key,
                                    std::string_view prefix, bool required) {
    const Value* v = Member(object, key);
    const std::string field = Join(prefix, key);
    if (v == nullptr) {
      if (required) Problem(field, "required");
      return std::nullopt;
    }
    if (!v->IsString()) {
      Problem(field, absl::StrCat("must be a string (got ", JsonTypeName(*v), ")"));
      return std::nullopt;
    }
    return std::string(v->GetString(), v->GetStringLength());
  }

  std::vector<std::string> StringArray(const Value& object, const char* key,
                                       std::string_view prefix, bool required) {
    const Value* v = Member(object, key);
    const std::string field = Join(prefix, key);
    std::vector<std::string> out;
    if (v == nullptr) {
      if (required) Problem(field, "required (a non-empty array of strings)");
      return out;
    }
    if (!v->IsArray()) {
      Problem(field, absl::StrCat("must be an array of strings (got ",
                                  JsonTypeName(*v), ")"));
      return out;
    }
    for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
      const Value& e = (*v)[i];
      if (!e.IsString() || e.GetStringLength() == 0) {
        Problem(absl::StrCat(field, "[", i, "]"), "must be a non-empty string");
        continue;
      }
      out.emplace_back(e.GetString(), e.GetStringLength());
    }
    if (required && out.empty() && v->Size() == 0) {
      Problem(field, "must be a non-empty array of strings");
    }
    return out;
  }

  std::optional<int64_t> Integer(const Value& object, const char* key,
                                 std::string_view prefix, int64_t min) {
    const Value* v = Member(object, key);
    if (v == nullptr) return std::nullopt;
    const std::string field = Join(prefix, key);
    if (!v->IsInt64()) {
      Problem(field, absl::StrCat("must be an integer (got ", JsonTypeName(*v),
                                  ")"));
      return std::nullopt;
    }
    if (v->GetInt64() < min) {
      Problem(field, absl::StrCat("must be >= ", min, " (got ", v->GetInt64(),
                                  ")"));
      return std::nullopt;
    }
    return v->GetInt64();
  }

  // A field that must be an object when present.
  const Value* Object(const Value& object, const char* key,
                      std::string_view prefix) {
    const Value* v = Member(object, key);
    if (v != nullptr && !v->IsObject()) {
      Problem(Join(prefix, key),
              absl::StrCat("must be an object (got ", JsonTypeName(*v), ")"));
      return nullptr;
    }
    return v;
  }

  void CheckPlaceholders(std::string_view field, std::string_view text) {
    absl::StatusOr<std::string> expanded =
        ExpandPlaceholders(text, KnownPlaceholders());
    if (!expanded.ok()) Problem(field, std::string(expanded.status().message()));
  }

 private:
  std::string origin_;
  std::vector<std::string> problems_;
};

bool ValidRelativePath(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

StepLimits ReadLimits(Reader& r, const Value& object, std::string_view prefix) {
  StepLimits limits;
  r.CheckKeys(object, prefix,
              {"cpu_time_ms", "wall_time_ms", "memory_bytes", "pids",
               "output_bytes", "file_size_bytes", "open_files", "stack_bytes",
               "tmp_bytes"});
  if (auto v = r.Integer(object, "cpu_time_ms", prefix, 1)) {
    limits.cpu_time = absl::Milliseconds(*v);
  }
  if (auto v = r.Integer(object, "wall_time_ms", prefix, 1)) {
    limits.wall_time = absl::Milliseconds(*v);
  }
  limits.memory_bytes = r.Integer(object, "memory_bytes", prefix, kMiB);
  limits.pids = r.Integer(object, "pids", prefix, 1);
  limits.output_bytes = r.Integer(object, "output_bytes", prefix, 1);
  limits.file_size_bytes = r.Integer(object, "file_size_bytes", prefix, 1);
  limits.open_files = r.Integer(object, "open_files", prefix, 16);
  limits.stack_bytes = r.Integer(object, "stack_bytes", prefix, 1 << 16);
  limits.tmp_bytes = r.Integer(object, "tmp_bytes", prefix, 1 << 16);
  return limits;
}

std::optional<Step> ReadStep(Reader& r, const Value& root, const char* key,
                             bool required) {
  const Value* v = r.Object(root, key, "");
  if (v == nullptr) {
    if (required && root.FindMember(key) == root.MemberEnd()) {
      r.Problem(key, "required");
    }
    return std::nullopt;
  }
  Step step;
  r.CheckKeys(*v, key, {"command", "rootfs", "limits", "cache"});
  step.command = r.StringArray(*v, "command", key, /*required=*/true);
  for (size_t i = 0; i < step.command.size(); ++i) {
    r.CheckPlaceholders(absl::StrCat(key, ".command[", i, "]"),
                        step.command[i]);
  }
  step.rootfs = r.String(*v, "rootfs", key, false).value_or("");
  if (const Value* limits = r.Object(*v, "limits", key)) {
    step.limits = ReadLimits(r, *limits, absl::StrCat(key, ".limits"));
  }
  const std::string cache_field = absl::StrCat(key, ".cache");
  if (const Value* cache = r.Object(*v, "cache", key)) {
    if (std::strcmp(key, "build") != 0) {
      r.Problem(cache_field, "only a build step has a cache");
    }
    r.CheckKeys(*cache, cache_field, {"dir", "warmup_source"});
    StepCache c;
    c.dir = r.String(*cache, "dir", cache_field, true).value_or("");
    c.warmup_source =
        r.String(*cache, "warmup_source", cache_field, true).value_or("");
    if (!ValidRelativePath(c.dir)) {
      r.Problem(absl::StrCat(cache_field, ".dir"),
                "must be a relative path inside the box, without . or ..");
    }
    if (c.warmup_source.empty()) {
      r.Problem(absl::StrCat(cache_field, ".warmup_source"),
                "must be a non-empty program");
    }
    step.cache = std::move(c);
  }
  return step;
}

bool ValidLanguageName(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '+' || c == '-';
  });
}

bool ValidEnvName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsIdentifierByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '$' || u >= 0x80;
}

// Java source scanning: the position after the comment, string, text block
// or char literal that starts at `i`, or `i` when none starts there.
size_t SkipNonCode(std::string_view s, size_t i) {
  if (s.compare(i, 2, "//") == 0) {
    const size_t end = s.find('\n', i);
    return end == std::string_view::npos ? s.size() : end + 1;
  }
  if (s.compare(i, 2, "/*") == 0) {
    const size_t end = s.find("*/", i + 2);
    return end == std::string_view::npos ? s.size() : end + 2;
  }
  if (s.compare(i, 3, "\"\"\"") == 0) {
    size_t k = i + 3;
    while (k < s.size()) {
      if (s[k] == '\\') {
        k += 2;
      } else if (s.compare(k, 3, "\"\"\"") == 0) {
        return k + 3;
      } else {
        ++k;
      }
    }
    return s.size();
  }
  if (s[i] == '"' || s[i] == '\'') {
    const char quote = s[i];
    size_t k = i + 1;
    while (k < s.size() && s[k] != quote && s[k] != '\n') {
      k += s[k] == '\\' ? 2 : 1;
    }
    return std::min(k + 1, s.size());
  }
  return i;
}

}  // namespace

sandbox::Limits StepLimits::ApplyTo(sandbox::Limits base) const {
  if (cpu_time) base.cpu_time = *cpu_time;
  if (wall_time) base.wall_time = *wall_time;
  if (memory_bytes) base.memory_bytes = *memory_bytes;
  if (pids) base.pids = *pids;
  if (output_bytes) base.output_bytes = *output_bytes;
  if (file_size_bytes) base.file_size_bytes = *file_size_bytes;
  if (open_files) base.open_files = *open_files;
  if (stack_bytes) base.stack_bytes = *stack_bytes;
  if (tmp_bytes) base.tmp_bytes = *tmp_bytes;
  return base;
}

absl::Status ProfileRegistry::Add(Profile profile) {
  const auto it = profiles_.find(profile.language);
  if (it != profiles_.end()) {
    return absl::AlreadyExistsError(absl::StrCat(
        profile.origin, ": language '", profile.language,
        "' is already defined by ", it->second.origin));
  }
  std::string language = profile.language;
  profiles_.emplace(std::move(language), std::move(profile));
  return absl::OkStatus();
}

const Profile* ProfileRegistry::Find(std::string_view language) const {
  const auto it = profiles_.find(language);
  return it == profiles_.end() ? nullptr : &it->second;
}

std::vector<std::string> ProfileRegistry::Languages() const {
  std::vector<std::string> out;
  for (const auto& [language, profile] : profiles_) out.push_back(language);
  return out;
}

absl::StatusOr<Profile> ParseProfile(std::string_view json,
                                     std::string_view origin) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag |
            rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
  if (doc.HasParseError()) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(origin), ": invalid JSON at offset ", doc.GetErrorOffset(),
        ": ", rapidjson::GetParseError_En(doc.GetParseError())));
  }
  if (!doc.IsObject()) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(origin), ": must be a JSON object (got ", JsonTypeName(doc),
        ")"));
  }
  Reader r(origin);
  Profile p;
  p.origin = std::string(origin);
  r.CheckKeys(doc, "",
              {"description", "language", "source_file", "build", "run", "env",
               "seccomp_allow", "memory_error_markers", "class_detect",
               "default_class", "heap", "build_image_env", "run_image_env",
               "workdir_env"});
  if (auto language = r.String(doc, "language", "", true)) {
    if (ValidLanguageName(*language)) {
      p.language = *language;
    } else {
      r.Problem("language", "must be 1-32 of [a-z0-9_+-]");
    }
  }
  if (auto source = r.String(doc, "source_file", "", true)) {
    r.CheckPlaceholders("source_file", *source);
    if (source->empty() || absl::StrContains(*source, "/") ||
        *source == "." || *source == "..") {
      r.Problem("source_file", "must be a plain file name (no '/')");
    }
    p.source_file = *source;
  }
  p.build = ReadStep(r, doc, "build", false);
  if (p.build.has_value() && (!p.build->limits.cpu_time.has_value() ||
                              !p.build->limits.memory_bytes.has_value())) {
    r.Problem("build.limits",
              "cpu_time_ms and memory_bytes are required (a build must be "
              "bounded)");
  }
  if (auto run = ReadStep(r, doc, "run", true)) p.run = *std::move(run);

  if (const Value* env = r.Object(doc, "env", "")) {
    for (auto it = env->MemberBegin(); it != env->MemberEnd(); ++it) {
      const std::string name(it->name.GetString(), it->name.GetStringLength());
      const std::string field = absl::StrCat("env.", name);
      if (!ValidEnvName(name)) {
        r.Problem(field, "not a valid variable name ([A-Za-z0-9_]+)");
        continue;
      }
      if (!it->value.IsString()) {
        r.Problem(field, absl::StrCat("must be a string (got ",
                                      JsonTypeName(it->value), ")"));
        continue;
      }
      std::string value(it->value.GetString(), it->value.GetStringLength());
      r.CheckPlaceholders(field, value);
      p.env.emplace_back(name, std::move(value));
    }
    std::sort(p.env.begin(), p.env.end());
  }
  p.seccomp_allow = r.StringArray(doc, "seccomp_allow", "", false);
  p.memory_error_markers =
      r.StringArray(doc, "memory_error_markers", "", false);
  p.class_detect = r.String(doc, "class_detect", "", false).value_or("");
  if (!p.class_detect.empty() && p.class_detect != "java") {
    r.Problem("class_detect",
              absl::StrCat("unknown detector '", p.class_detect,
                           "' (known: java)"));
  }
  if (auto cls = r.String(doc, "default_class", "", false)) {
    if (cls->empty() || !std::all_of(cls->begin(), cls->end(),
                                     IsIdentifierByte)) {
      r.Problem("default_class", "must be an identifier");
    } else {
      p.default_class = *cls;
    }
  }
  if (const Value* heap = r.Object(doc, "heap", "")) {
    r.CheckKeys(*heap, "heap", {"percent", "headroom_mb", "min_mb"});
    if (auto v = r.Integer(*heap, "percent", "heap", 1)) {
      if (*v > 100) {
        r.Problem("heap.percent", "must be <= 100");
      } else {
        p.heap.percent = *v;
      }
    }
    p.heap.headroom_mb =
        r.Integer(*heap, "headroom_mb", "heap", 0).value_or(p.heap.headroom_mb);
    p.heap.min_mb = r.Integer(*heap, "min_mb", "heap", 1).value_or(p.heap.min_mb);
  }
  for (const char* key : {"build_image_env", "run_image_env", "workdir_env"}) {
    std::string value = r.String(doc, key, "", false).value_or("");
    if (!value.empty() && !ValidEnvName(value)) {
      r.Problem(key, "not a valid variable name ([A-Za-z0-9_]+)");
    }
    if (std::strcmp(key, "build_image_env") == 0) p.build_image_env = value;
    if (std::strcmp(key, "run_image_env") == 0) p.run_image_env = value;
    if (std::strcmp(key, "workdir_env") == 0) p.workdir_env = value;
  }
  if (absl::Status status = r.ToStatus(); !status.ok()) return status;
  return p;
}

absl::StatusOr<ProfileRegistry> LoadProfiles(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    const int err = errno;
    return absl::NotFoundError(absl::StrCat(
        "open profiles directory ", dir, ": ", std::strerror(err),
        " (set SCRC_PROFILES_DIR)"));
  }
  std::vector<std::string> names;
  while (const dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (name[0] != '.' && absl::EndsWith(name, ".json")) names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  if (names.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no profiles (*.json) in ", dir, " (set SCRC_PROFILES_DIR)"));
  }

  ProfileRegistry registry;
  std::vector<std::string> errors;
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(dir, "/", name);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      errors.push_back(absl::StrCat("read ", path, ": ", std::strerror(errno)));
      continue;
    }
    std::string text(kMaxProfileBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxProfileBytes) {
      errors.push_back(absl::StrCat(path, ": larger than 1 MiB"));
      continue;
    }
    absl::StatusOr<Profile> profile = ParseProfile(text, path);
    if (!profile.ok()) {
      errors.emplace_back(profile.status().message());
      continue;
    }
    if (absl::Status added = registry.Add(*std::move(profile)); !added.ok()) {
      errors.emplace_back(added.message());
    }
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  }
  return registry;
}

Placeholders MakePlaceholders(const Profile& profile,
                              const PlaceholderInputs& inputs) {
  const int64_t memory_mb = inputs.memory_bytes / kMiB;
  const int64_t heap_mb =
      std::max(profile.heap.min_mb,
               memory_mb * profile.heap.percent / 100 - profile.heap.headroom_mb);
  const int64_t time_ms = absl::ToInt64Milliseconds(inputs.cpu_time);
  return Placeholders{
      {"source", inputs.source_file},
      {"class", inputs.class_name},
      {"memory_mb", absl::StrCat(memory_mb)},
      {"heap_mb", absl::StrCat(heap_mb)},
      {"time_limit_s", absl::StrCat(std::max<int64_t>(1, (time_ms + 999) / 1000))},
      {"time_limit_ms", absl::StrCat(time_ms)},
  };
}

absl::StatusOr<std::string> ExpandPlaceholders(std::string_view text,
                                               const Placeholders& values) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      const size_t end = text.find('}', i);
      if (end == std::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            "unterminated placeholder in '", std::string(text),
            "' (use {{ for a literal brace)"));
      }
      const std::string_view name = text.substr(i + 1, end - i - 1);
      const auto it = values.find(name);
      if (it == values.end()) {
        std::vector<std::string> known;
        for (const auto& [k, v] : values) known.push_back(absl::StrCat("{", k, "}"));
        return absl::InvalidArgumentError(absl::StrCat(
            "unknown placeholder {", std::string(name), "} (known: ",
            absl::StrJoin(known, ", "), ")"));
      }
      out += it->second;
      i = end;
    } else if (c == '}') {
      return absl::InvalidArgumentError(absl::StrCat(
          "unmatched '}' in '", std::string(text), "' (use }} for a literal brace)"));
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> JavaPublicClass(std::string_view s) {
  static const std::set<std::string_view> kModifiers = {
      "abstract", "final", "static", "strictfp", "sealed"};
  static const std::set<std::string_view> kKinds = {"class", "interface",
                                                    "enum", "record"};
  int depth = 0;
  bool saw_public = false;  // "public" (+ modifiers) at depth 0
  bool want_name = false;   // saw_public + "class"/... : the next word
  for (size_t i = 0; i < s.size();) {
    if (const size_t next = SkipNonCode(s, i); next != i) {
      i = next;
      continue;
    }
    const char c = s[i];
    if (IsIdentifierByte(c)) {
      size_t end = i;
      while (end < s.size() && IsIdentifierByte(s[end])) ++end;
      const std::string_view word = s.substr(i, end - i);
      i = end;
      if (depth != 0) continue;
      if (want_name) {
        if (word.size() > 255 || (word[0] >= '0' && word[0] <= '9')) {
          return std::nullopt;
        }
        return std::string(word);
      }
      if (word == "public") {
        saw_public = true;
      } else if (saw_public && kKinds.count(word)) {
        want_name = true;
      } else if (!(saw_public && kModifiers.count(word))) {
        saw_public = false;
      }
      continue;
    }
    if (c == '{') ++depth;
    if (c == '}' && depth > 0) --depth;
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      saw_public = false;
      want_name = false;
    }
    ++i;
  }
  return std::nullopt;
}

std::string DetectClass(const Profile& profile, std::string_view source) {
  if (profile.class_detect == "java") {
    if (auto name = JavaPublicClass(source)) return *name;
  }
  return profile.default_class;
}

}  // namespace scrc
