#ifndef GATEWAY_CREDENTIALS_LOG_H_
#define GATEWAY_CREDENTIALS_LOG_H_

#include <functional>
#include <string>

namespace envelope {

// Receives one line per credential event (a refresh failure episode, its
// recovery, a rotation picked up). Lines never hold a secret. Injectable so
// tests can count lines and check them for secrets.
using CredentialLogger = std::function<void(const std::string& line)>;

// Writes "envelope-gateway: credentials <line>" to stderr in one write, so
// lines from several threads do not interleave.
CredentialLogger StderrCredentialLogger();

// Feed CredentialEvents() (credentials.h).
void CountCredentialRefresh();
void CountCredentialFailure();

}  // namespace envelope

#endif  // GATEWAY_CREDENTIALS_LOG_H_
