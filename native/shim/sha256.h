// SHA-256 (FIPS 180-4), for the launcher's socket name: a static binary without libcrypto.
#pragma once

#include <string>

// The lowercase hex digest of data.
std::string sha256_hex(const std::string& data);
