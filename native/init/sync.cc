#include "sync.h"

#include "fdpass.h"
#include "io.h"

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace {

int sync_fd = -1;
// Largest message accepted from the runtime; a plan is a few KiB.
constexpr uint32_t kMaxFrame = 16u << 20;

void write_stderr(const std::string& msg) {
  std::string line = "runts-init: " + msg + "\n";
  write_all(2, line.data(), line.size());
}

}  // namespace

namespace channel {

void attach(int fd) { sync_fd = fd; }

void detach() {
  if (sync_fd >= 0) close(sync_fd);
  sync_fd = -1;
}

bool attached() { return sync_fd >= 0; }

void send_raw(const std::string& json) {
  if (sync_fd < 0) fail("sync socket is closed");
  uint32_t len = uint32_t(json.size());
  std::string frame;
  frame.reserve(4 + json.size());
  for (int i = 0; i < 4; i++) frame += char((len >> (8 * i)) & 0xFF);
  frame += json;
  if (!write_all(sync_fd, frame.data(), frame.size())) {
    int err = errno;
    sync_fd = -1;  // so fail() does not try the broken socket again
    fail(error_text("write to sync socket", err));
  }
}

void send_type(const char* type) {
  std::string json = "{\"type\":";
  json::append_quoted(json, type);
  send_raw(json + "}");
}

void send_message(const char* type, const std::string& message) {
  std::string json = "{\"type\":";
  json::append_quoted(json, type);
  json += ",\"message\":";
  json::append_quoted(json, message);
  send_raw(json + "}");
}

void send_fd(int fd) {
  if (sync_fd < 0) fail("sync socket is closed");
  if (send_with_fd(sync_fd, "", 1, fd) != 1) fail_errno("send fd over the sync socket");
}

void receive(const char* expected_type, json::Value& message) {
  if (sync_fd < 0) fail("sync socket is closed");
  unsigned char header[4];
  if (!read_all(sync_fd, reinterpret_cast<char*>(header), 4))
    fail(error_text(std::string("read sync socket (waiting for ") + expected_type + ")", errno));
  uint32_t len = header[0] | header[1] << 8 | header[2] << 16 | uint32_t(header[3]) << 24;
  if (len > kMaxFrame) fail("sync message too large: " + std::to_string(len) + " bytes");
  std::string body(len, '\0');
  if (!read_all(sync_fd, &body[0], len))
    fail(error_text(std::string("read sync socket (waiting for ") + expected_type + ")", errno));
  std::string parse_error;
  if (!json::parse(body, message, parse_error)) fail("invalid sync message: " + parse_error);
  const json::Value& type = message["type"];
  if (!type.is_string() || type.text != expected_type)
    fail(std::string("unexpected sync message (wanted ") + expected_type + "): " + body.substr(0, 200));
}

}  // namespace channel

void fail(const std::string& msg) {
  if (sync_fd >= 0) {
    int fd = sync_fd;
    sync_fd = -1;  // a failing send must not recurse
    std::string json = "{\"type\":\"error\",\"message\":";
    json::append_quoted(json, msg);
    json += "}";
    uint32_t len = uint32_t(json.size());
    char header[4] = {char(len & 0xFF), char((len >> 8) & 0xFF), char((len >> 16) & 0xFF), char(len >> 24)};
    if (write_all(fd, header, 4) && write_all(fd, json.data(), json.size())) _exit(1);
  }
  write_stderr(msg);
  _exit(1);
}

void fail_errno(const std::string& what) { fail(error_text(what, errno)); }

// The errno text as the runtime words it (Go's, which callers match): strerror's, lower-cased
// ("no such file or directory").
std::string error_text(const std::string& what, int err) {
  std::string text = strerror(err);
  if (!text.empty()) text[0] = char(tolower(static_cast<unsigned char>(text[0])));
  return what + ": " + text;
}
