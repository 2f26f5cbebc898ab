#include "json.h"

#include <cstdlib>
#include <cstring>

namespace json {

const Value& Value::operator[](const char* key) const {
  static const Value null_value;
  if (kind != Kind::Object) return null_value;
  for (size_t i = 0; i < keys.size(); i++)
    if (keys[i] == key) return items[i];
  return null_value;
}

namespace {

// Nesting limit so a hostile or broken document cannot exhaust the stack.
constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(const std::string& input) : s_(input) {}

  bool document(Value& out, std::string& error) {
    skip_space();
    if (!value(out, 0) ) { error = error_; return false; }
    skip_space();
    if (pos_ != s_.size()) { error = "trailing data at offset " + std::to_string(pos_); return false; }
    return true;
  }

 private:
  const std::string& s_;
  size_t pos_ = 0;
  std::string error_;

  bool fail(const char* what) {
    if (error_.empty()) error_ = std::string(what) + " at offset " + std::to_string(pos_);
    return false;
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) pos_++;
  }
  bool literal(const char* word) {
    size_t n = strlen(word);
    if (s_.compare(pos_, n, word) != 0) return fail("invalid literal");
    pos_ += n;
    return true;
  }

  bool value(Value& out, int depth) {
    if (depth > kMaxDepth) return fail("nesting too deep");
    if (pos_ >= s_.size()) return fail("unexpected end");
    char c = s_[pos_];
    switch (c) {
      case '{': return object(out, depth);
      case '[': return array(out, depth);
      case '"': out.kind = Kind::String; return string(out.text);
      case 't': out.kind = Kind::Bool; out.boolean = true; return literal("true");
      case 'f': out.kind = Kind::Bool; out.boolean = false; return literal("false");
      case 'n': out.kind = Kind::Null; return literal("null");
      default: return number(out);
    }
  }

  bool number(Value& out) {
    size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') pos_++;
    while (pos_ < s_.size() && strchr("0123456789.eE+-", s_[pos_]) != nullptr) pos_++;
    if (pos_ == start) return fail("unexpected character");
    std::string digits = s_.substr(start, pos_ - start);
    char* end = nullptr;
    out.number = strtod(digits.c_str(), &end);
    if (end != digits.c_str() + digits.size()) return fail("invalid number");
    out.kind = Kind::Number;
    return true;
  }

  bool hex4(unsigned& code) {
    if (pos_ + 4 > s_.size()) return fail("short \\u escape");
    code = 0;
    for (int i = 0; i < 4; i++) {
      char h = s_[pos_++];
      code <<= 4;
      if (h >= '0' && h <= '9') code |= h - '0';
      else if (h >= 'a' && h <= 'f') code |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F') code |= h - 'A' + 10;
      else return fail("invalid \\u escape");
    }
    return true;
  }

  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += char(code);
    } else if (code < 0x800) {
      out += char(0xC0 | (code >> 6));
      out += char(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += char(0xE0 | (code >> 12));
      out += char(0x80 | ((code >> 6) & 0x3F));
      out += char(0x80 | (code & 0x3F));
    } else {
      out += char(0xF0 | (code >> 18));
      out += char(0x80 | ((code >> 12) & 0x3F));
      out += char(0x80 | ((code >> 6) & 0x3F));
      out += char(0x80 | (code & 0x3F));
    }
  }

  bool string(std::string& out) {
    pos_++;  // opening quote
    while (true) {
      if (pos_ >= s_.size()) return fail("unterminated string");
      char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (c != '\\') { out += c; continue; }
      if (pos_ >= s_.size()) return fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned code;
          if (!hex4(code)) return false;
          // A high surrogate followed by a low one encodes a code point above U+FFFF.
          if (code >= 0xD800 && code < 0xDC00 && s_.compare(pos_, 2, "\\u") == 0) {
            pos_ += 2;
            unsigned low;
            if (!hex4(low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) return fail("invalid surrogate pair");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, code);
          break;
        }
        default: return fail("invalid escape");
      }
    }
  }

  bool array(Value& out, int depth) {
    out.kind = Kind::Array;
    pos_++;
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == ']') { pos_++; return true; }
    while (true) {
      skip_space();
      out.items.emplace_back();
      if (!value(out.items.back(), depth + 1)) return false;
      skip_space();
      if (pos_ >= s_.size()) return fail("unterminated array");
      char c = s_[pos_++];
      if (c == ']') return true;
      if (c != ',') return fail("expected , or ]");
    }
  }

  bool object(Value& out, int depth) {
    out.kind = Kind::Object;
    pos_++;
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '}') { pos_++; return true; }
    while (true) {
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected member name");
      out.keys.emplace_back();
      if (!string(out.keys.back())) return false;
      skip_space();
      if (pos_ >= s_.size() || s_[pos_++] != ':') return fail("expected :");
      skip_space();
      out.items.emplace_back();
      if (!value(out.items.back(), depth + 1)) return false;
      skip_space();
      if (pos_ >= s_.size()) return fail("unterminated object");
      char c = s_[pos_++];
      if (c == '}') return true;
      if (c != ',') return fail("expected , or }");
    }
  }
};

}  // namespace

bool parse(const std::string& input, Value& out, std::string& error) {
  out = Value();
  return Parser(input).document(out, error);
}

void append_quoted(std::string& out, const std::string& s) {
  static const char hex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

}  // namespace json
