// A small JSON reader and string quoter: enough for the init plan and the sync messages.
#pragma once

#include <string>
#include <vector>

namespace json {

enum class Kind : unsigned char { Null, Bool, Number, String, Array, Object };

struct Value {
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string text;             // String
  std::vector<Value> items;     // Array elements, or Object member values
  std::vector<std::string> keys;  // Object member names, parallel to items

  // Object member, or a shared null value when absent or when this is not an object.
  const Value& operator[](const char* key) const;
  bool is_null() const { return kind == Kind::Null; }
  bool is_string() const { return kind == Kind::String; }
  bool is_number() const { return kind == Kind::Number; }
  bool is_array() const { return kind == Kind::Array; }
  bool is_object() const { return kind == Kind::Object; }
};

// Parses one JSON document; on failure returns false and sets error.
bool parse(const std::string& input, Value& out, std::string& error);

// Appends s to out as a JSON string literal.
void append_quoted(std::string& out, const std::string& s);

}  // namespace json
