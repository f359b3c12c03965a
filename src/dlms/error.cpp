#include "error.h"

namespace dlms {

QString errorCodeName(ErrorCode code)
{
    switch (code) {
    case ErrorCode::Truncated:
        return QStringLiteral("truncated");
    case ErrorCode::LengthTooLarge:
        return QStringLiteral("length-too-large");
    case ErrorCode::NestingTooDeep:
        return QStringLiteral("nesting-too-deep");
    case ErrorCode::BadChecksum:
        return QStringLiteral("bad-checksum");
    case ErrorCode::BadAddress:
        return QStringLiteral("bad-address");
    case ErrorCode::UnknownTag:
        return QStringLiteral("unknown-tag");
    case ErrorCode::Malformed:
        return QStringLiteral("malformed");
    case ErrorCode::Unsupported:
        return QStringLiteral("unsupported");
    case ErrorCode::UnexpectedFrame:
        return QStringLiteral("unexpected-frame");
    case ErrorCode::Rejected:
        return QStringLiteral("rejected");
    case ErrorCode::AccessDenied:
        return QStringLiteral("access-denied");
    case ErrorCode::Timeout:
        return QStringLiteral("timeout");
    case ErrorCode::ConnectionFailed:
        return QStringLiteral("connection-failed");
    case ErrorCode::InvalidArgument:
        return QStringLiteral("invalid-argument");
    case ErrorCode::IoError:
        return QStringLiteral("io-error");
    case ErrorCode::AuthenticationFailed:
        return QStringLiteral("authentication-failed");
    case ErrorCode::DecryptionFailed:
        return QStringLiteral("decryption-failed");
    case ErrorCode::Replay:
        return QStringLiteral("replay");
    }
    return QStringLiteral("unknown");
}

} // namespace dlms
