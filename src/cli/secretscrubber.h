#pragma once

#include <QtCore/QString>
#include <QtCore/QStringList>

#include <cstdio>
#include <vector>

namespace app {
struct BridgeConfig;
} // namespace app

// Every secret value of a configuration: the MQTT password or access token, the HTTP token,
// meter passwords, meter EKs and AKs (as hex text, lower and upper case) and meter access
// tokens (empty ones left out).
QStringList configSecrets(const app::BridgeConfig &config);

// The last line of defence of `dlmsctl run` and `dlmsctl commission`: the engine keeps secrets
// out of what it says, this replaces any that still shows up — as text, and in the hex dump
// forms a frame trace would carry ("3132", "31 32") — by "***". A secret that is hex text (a
// key) is matched in any case, and also as the bytes it spells, spaced ("D0 D1 …"). Not
// thread-safe by itself.
class SecretScrubber {
public:
    // Secrets accumulate (after a reload the old ones may still be in flight). Shorter than 4
    // characters are not scrubbed: replacing "12" everywhere would garble figures.
    void add(const QStringList &secrets);
    QString operator()(QString text) const;

private:
    struct Secret {
        QString text;
        QString hex;
        QString spacedHex;
        QString spacedBytes; // a hex-text secret (a key): its bytes as "d0 d1 …"; else empty
    };
    std::vector<Secret> m_secrets; // longest first, so a secret containing another goes whole
};

// Control characters replaced by '?' (and, with `oneLine`, line breaks and tabs by a space):
// texts from meters and messages are untrusted and must not drive the terminal.
QString terminalSafe(QString text, bool oneLine = false);

// One line to `to`, UTF-8, flushed.
void printLine(FILE *to, const QString &line);
