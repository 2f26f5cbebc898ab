// bin/containerd-shim-runts-v2: what containerd executes for every `start` and `delete` of a
// runts task. One resident shim (Node) serves all tasks of a containerd namespace; booting Node
// for each of these short calls cost two boots per container on containerd's critical path.
// So this small static binary derives the resident's socket from -address and -namespace, asks
// the resident to carry out the call (its Launcher service, src/shim/launcher.ts) and prints
// the answer. Whenever it cannot (no resident, a refusal, any error) it execs the Node shim
// (dist/shim.js) with the same arguments and -socket, which does the whole job itself.
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include "../init/io.h"
#include "sha256.h"

namespace {

// containerd 1.6 puts shim sockets here whatever its config (src/shim/address.ts).
const char kSocketDir[] = "/run/containerd/s/";
const char kService[] = "runts.shim.v1.Launcher";
const char kMethod[] = "Run";
// How long the resident may take to answer (a delete waits for the task's output to drain).
const int kAnswerSeconds = 30;
const uint8_t kRequest = 1, kResponse = 2;

// The last value of -name / --name / -name=value, as Go's flag package lets the last one win.
// A wrong guess costs nothing: the resident parses the arguments itself and refuses others.
std::string flag_value(int argc, char** argv, const std::string& name) {
  std::string value;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    for (const std::string prefix : {"-", "--"}) {
      if (arg == prefix + name && i + 1 < argc) value = argv[i + 1];
      else if (arg.rfind(prefix + name + "=", 0) == 0) value = arg.substr(prefix.size() + name.size() + 1);
    }
  }
  return value;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char(v | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}

// A length-delimited protobuf field (string, bytes, message).
void put_bytes(std::string& out, int field, const std::string& value) {
  put_varint(out, uint64_t(field) << 3 | 2);
  put_varint(out, value.size());
  out += value;
}

bool get_varint(const std::string& in, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && pos < in.size(); shift += 7) {
    uint8_t byte = uint8_t(in[pos++]);
    v |= uint64_t(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

// Walks a protobuf message: on_field(field, wire type, varint value, bytes value) per field.
template <typename F>
bool each_field(const std::string& in, F on_field) {
  size_t pos = 0;
  while (pos < in.size()) {
    uint64_t key, v = 0;
    if (!get_varint(in, pos, key)) return false;
    std::string bytes;
    switch (key & 7) {
      case 0:
        if (!get_varint(in, pos, v)) return false;
        break;
      case 1:
        pos += 8;
        break;
      case 2:
        if (!get_varint(in, pos, v) || v > in.size() - pos) return false;
        bytes = in.substr(pos, v);
        pos += v;
        break;
      case 5:
        pos += 4;
        break;
      default:
        return false;
    }
    if (pos > in.size()) return false;
    on_field(int(key >> 3), int(key & 7), v, bytes);
  }
  return true;
}

// A ttrpc frame: length, stream id (big-endian 32 bits each), type, flags, then the payload.
std::string frame(uint32_t stream, uint8_t type, const std::string& payload) {
  std::string out;
  for (uint32_t word : {uint32_t(payload.size()), stream}) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(char(word >> shift));
  }
  out.push_back(char(type));
  out.push_back('\0');
  return out + payload;
}

// Asks the resident at `socket` to run this call (argv and cwd); true with its stdout in *out
// when it did.
bool ask_resident(const std::string& socket, int argc, char** argv, std::string* out) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.size() >= sizeof(addr.sun_path)) return false;
  memcpy(addr.sun_path, socket.c_str(), socket.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval limit{kAnswerSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return false;
  }
  // LaunchRequest { repeated string args = 1; string cwd = 2; }
  std::string call;
  for (int i = 1; i < argc; i++) put_bytes(call, 1, argv[i]);
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd))) put_bytes(call, 2, cwd);
  // ttrpc Request { string service = 1; string method = 2; bytes payload = 3; }
  std::string request;
  put_bytes(request, 1, kService);
  put_bytes(request, 2, kMethod);
  put_bytes(request, 3, call);
  std::string sent = frame(1, kRequest, request);
  char header[10];
  bool ok = write_all(fd, sent.data(), sent.size()) && read_all(fd, header, sizeof(header));
  uint32_t length = 0;
  for (int i = 0; i < 4; i++) length = length << 8 | uint8_t(header[i]);
  std::string response;
  if (ok && uint8_t(header[8]) == kResponse && length <= (4u << 20)) {
    response.resize(length);
    ok = read_all(fd, &response[0], length);
  } else {
    ok = false;
  }
  close(fd);
  if (!ok) return false;
  // ttrpc Response { Status status = 1 { int32 code = 1; ... }; bytes payload = 2; }
  uint64_t code = 0;
  bool parsed = each_field(response, [&](int field, int wire, uint64_t, const std::string& bytes) {
    if (field == 1 && wire == 2) {
      each_field(bytes, [&](int f, int w, uint64_t v, const std::string&) {
        if (f == 1 && w == 0) code = v;
      });
    } else if (field == 2 && wire == 2) {
      *out = bytes;
    }
  });
  return parsed && code == 0;
}

// Execs the Node shim: BIN_DIR/../dist/shim.js (its shebang names node), -socket first.
[[noreturn]] void exec_node_shim(int argc, char** argv, const std::string& socket) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) {
    dprintf(2, "containerd-shim-runts-v2: readlink /proc/self/exe: %s\n", strerror(errno));
    _exit(1);
  }
  std::string dir(self, size_t(n));
  dir.erase(dir.rfind('/'));
  std::string script = dir + "/../dist/shim.js";
  std::string socket_flag = "-socket=unix://" + socket;
  std::vector<char*> args{const_cast<char*>(script.c_str())};
  if (!socket.empty()) args.push_back(const_cast<char*>(socket_flag.c_str()));
  for (int i = 1; i < argc; i++) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(script.c_str(), args.data());
  dprintf(2, "containerd-shim-runts-v2: exec %s: %s\n", script.c_str(), strerror(errno));
  _exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string ns = flag_value(argc, argv, "namespace");
  std::string address = flag_value(argc, argv, "address");
  std::string socket;
  if (!ns.empty() && !address.empty()) {
    // The key no containerd socket name can have: a NUL cannot occur in an argument.
    socket = kSocketDir + sha256_hex(std::string("runts-shim") + '\0' + address + '\0' + ns);
    std::string answer;
    if (ask_resident(socket, argc, argv, &answer)) return write_all(1, answer.data(), answer.size()) ? 0 : 1;
  }
  exec_node_shim(argc, argv, socket);
}
