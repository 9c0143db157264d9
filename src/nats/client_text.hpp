#pragma once
// Words the client puts in exceptions and logs: nats.c's error texts, server URLs without their
// secrets, and the whitespace trimming of what it reads from files and URL lists. Every other
// file of the client needs some of them, so they are one small header instead of copies.
// Internal to src/nats.
#include <nats/nats.h>

#include <string>
#include <vector>

namespace stargate::nats::detail {

// The most precise text nats.c has for a failed call on this thread, without the "(conn.c:2088): "
// source location nats.c puts in front.
std::string error_text(natsStatus status);

// URLs for messages and logs, without passwords or tokens (nats://user:pass@host, nats://token@host).
std::string redact(const std::string& url);

std::string describe(const std::vector<std::string>& urls);

std::string trim(std::string s);

}  // namespace stargate::nats::detail
