#include "secretscrubber.h"

#include <bridgeconfig.h>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace {

constexpr qsizetype MinScrubbedSecret = 4;

bool isHexDigit(QChar c)
{
    return (c >= u'0' && c <= u'9') || (c >= u'a' && c <= u'f') || (c >= u'A' && c <= u'F');
}

} // namespace

QStringList configSecrets(const app::BridgeConfig &config)
{
    QStringList secrets {config.mqtt.client.password, QString::fromUtf8(config.http.token)};
    // A username with no password is a ThingsBoard access token (given as "token" or not).
    if (config.secretReferences.contains(u"mqtt.token"_s) || config.mqtt.client.password.isEmpty())
        secrets << config.mqtt.client.username;
    for (const polling::MeterConfig &meter : config.site.meters) {
        secrets << QString::fromUtf8(meter.password);
        // A key is binary: the forms it can show up in are its hex text, in either case.
        for (const QByteArray *key : {&meter.security.blockCipherKey, &meter.security.authenticationKey}) {
            if (key->isEmpty())
                continue;
            const QString hex = QString::fromLatin1(key->toHex());
            secrets << hex << hex.toUpper();
        }
    }
    for (const app::MeterPublishing &publishing : config.publishing)
        secrets << publishing.accessToken;
    secrets.removeAll(QString());
    return secrets;
}

void SecretScrubber::add(const QStringList &secrets)
{
    for (const QString &secret : secrets) {
        const bool known = std::any_of(m_secrets.cbegin(), m_secrets.cend(),
            [&](const Secret &scrubbed) { return scrubbed.text == secret; });
        if (secret.size() < MinScrubbedSecret || known)
            continue;
        const QByteArray utf8 = secret.toUtf8();
        // Hex text (a key) also stands for the bytes it spells, which a frame dump spaces out.
        const bool hexText = secret.size() % 2 == 0
            && std::all_of(secret.cbegin(), secret.cend(), [](QChar c) { return isHexDigit(c); });
        m_secrets.push_back({secret, QString::fromLatin1(utf8.toHex()), QString::fromLatin1(utf8.toHex(' ')),
            hexText ? QString::fromLatin1(QByteArray::fromHex(utf8).toHex(' ')) : QString()});
    }
    std::sort(m_secrets.begin(), m_secrets.end(),
        [](const Secret &a, const Secret &b) { return a.text.size() > b.text.size(); });
}

QString SecretScrubber::operator()(QString text) const
{
    for (const Secret &secret : m_secrets) {
        // Hex text is the same key in any case; other secrets match exactly.
        text.replace(
            secret.text, u"***"_s, secret.spacedBytes.isEmpty() ? Qt::CaseSensitive : Qt::CaseInsensitive);
        text.replace(secret.hex, u"***"_s, Qt::CaseInsensitive);
        text.replace(secret.spacedHex, u"***"_s, Qt::CaseInsensitive);
        if (!secret.spacedBytes.isEmpty())
            text.replace(secret.spacedBytes, u"***"_s, Qt::CaseInsensitive);
    }
    return text;
}

QString terminalSafe(QString text, bool oneLine)
{
    for (QChar &c : text) {
        if (oneLine && (c == u'\n' || c == u'\r' || c == u'\t'))
            c = u' ';
        else if (c.unicode() < 0x20 || (c.unicode() >= 0x7f && c.unicode() < 0xa0))
            c = u'?';
    }
    return text;
}

void printLine(FILE *to, const QString &line)
{
    const QByteArray bytes = line.toUtf8() + '\n';
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), to);
    std::fflush(to);
}
