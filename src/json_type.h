// The JSON type of a value, in the words error messages use.
#ifndef SCRC_SRC_JSON_TYPE_H_
#define SCRC_SRC_JSON_TYPE_H_

#include "rapidjson/document.h"

namespace scrc {

inline const char* JsonTypeName(const rapidjson::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "boolean";
  if (v.IsNumber()) return "number";
  if (v.IsString()) return "string";
  if (v.IsArray()) return "array";
  return "object";
}

}  // namespace scrc

#endif  // SCRC_SRC_JSON_TYPE_H_
