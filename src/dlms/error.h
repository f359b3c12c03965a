#pragma once

#include <QtCore/QString>

#include <utility>
#include <variant>

namespace dlms {

// What went wrong, coarse enough to switch on; the message says exactly where and why.
enum class ErrorCode : quint8 {
    Truncated, // input ended before the structure did (more bytes may complete it)
    LengthTooLarge, // a length or count claims more than the input can hold or a limit allows
    NestingTooDeep, // arrays/structures nested past the decoder's depth limit
    BadChecksum, // HDLC HCS/FCS mismatch
    BadAddress, // HDLC address malformed or not ours; wrapper port mismatch
    UnknownTag, // a type tag or APDU tag we do not know
    Malformed, // structurally wrong: bad field value, wrong version, trailing garbage
    Unsupported, // valid DLMS we deliberately do not implement
    UnexpectedFrame, // a frame or APDU that does not fit the session's state
    Rejected, // the meter refused (AARE rejected, DM, exception, service error)
    AccessDenied, // a data-access-result other than success
    Timeout, // raised by the I/O owner, carried through the session
    ConnectionFailed, // the transport failed: connection refused or lost, port unavailable
    InvalidArgument, // the caller asked for something impossible (encoder side)
    IoError, // a file or database could not be read or written (full disk, read-only, corrupt)
    AuthenticationFailed, // HLS: a peer's proof of the challenge does not verify (wrong AK/EK or title)
    DecryptionFailed, // a ciphered APDU does not decipher or its tag does not verify (wrong EK/AK)
    Replay, // a ciphered APDU's invocation counter is not above the last one accepted
};

struct Error {
    ErrorCode code;
    QString message;
};

QString errorCodeName(ErrorCode code);

// A value or an error. Decoders return this instead of throwing: they run on untrusted input
// on the hot path, so failure is an ordinary outcome, not an exception.
template<typename T> class [[nodiscard]] Result {
public:
    Result(T value) : m_data(std::in_place_index<0>, std::move(value)) { }
    Result(Error error) : m_data(std::in_place_index<1>, std::move(error)) { }

    bool ok() const noexcept { return m_data.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T &value() & { return std::get<0>(m_data); }
    const T &value() const & { return std::get<0>(m_data); }
    T &&value() && { return std::get<0>(std::move(m_data)); }
    T *operator->() { return &std::get<0>(m_data); }
    const T *operator->() const { return &std::get<0>(m_data); }
    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }

    const Error &error() const { return std::get<1>(m_data); }

private:
    std::variant<T, Error> m_data;
};

template<> class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : m_error(std::move(error)), m_ok(false) { }

    bool ok() const noexcept { return m_ok; }
    explicit operator bool() const noexcept { return m_ok; }
    const Error &error() const { return m_error; }

private:
    Error m_error {ErrorCode::Malformed, {}};
    bool m_ok = true;
};

inline Error makeError(ErrorCode code, QString message)
{
    return Error {code, std::move(message)};
}

} // namespace dlms
