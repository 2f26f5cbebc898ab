// The sync socket to the runtime (framing: 4-byte little-endian length + JSON, see
// src/init/protocol.ts) and how failures are reported: as {type:"error"} messages while the
// runtime listens, on stderr once the container has been started.
#pragma once

#include <string>

#include "json.h"

namespace channel {

// Adopts fd as the sync socket; failures are reported over it from now on.
void attach(int fd);
// Closes the socket; later failures go to stderr as "runts-init: <msg>".
void detach();
// Whether failures still go to the runtime (until detach, or a broken socket).
bool attached();

// Sends a ready-made JSON object.
void send_raw(const std::string& json);
// Sends {"type": type}.
void send_type(const char* type);
// Sends {"type": type, "message": message}.
void send_message(const char* type, const std::string& message);
// Sends one byte carrying fd (SCM_RIGHTS); the runtime receives it right after a message.
void send_fd(int fd);
// Reads the next message and fails unless its "type" is expected_type.
void receive(const char* expected_type, json::Value& message);

}  // namespace channel

// Reports msg to the runtime (or stderr) and exits 1.
[[noreturn]] void fail(const std::string& msg);
// fail(what + ": " + strerror(errno)).
[[noreturn]] void fail_errno(const std::string& what);
// what + ": " + strerror(err).
std::string error_text(const std::string& what, int err);
