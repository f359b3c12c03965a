#pragma once

#include <dlmsconnection.h>

#include <QtCore/QHash>
#include <QtCore/QString>

#include <iterator>
#include <utility>
#include <vector>

// The identity of a meter (logical device name, serial number, firmware version) as read on an
// open association: shared by ConnectionTest and CommissioningRun. Internal to app/.
namespace app::identity {

enum class Field : quint8 { DeviceName, Serial, Firmware };

struct Object {
    Field field;
    dlms::AttributeDescriptor attribute;
};

// All Data objects, value at attribute 2.
inline const Object kObjects[] = {
    {Field::DeviceName, {1, dlms::Obis(0, 0, 42, 0, 0, 255), 2}},
    {Field::Serial, {1, dlms::Obis(0, 0, 96, 1, 0, 255), 2}},
    {Field::Firmware, {1, dlms::Obis(1, 0, 0, 2, 0, 255), 2}},
};

inline bool isPrintable(const QByteArray &bytes)
{
    for (char c : bytes) {
        const auto u = uchar(c);
        if (u < 0x20 || u > 0x7E)
            return false;
    }
    return true;
}

// Longest meter-supplied text a result carries: a meter may send kilobytes in a string.
inline constexpr qsizetype kMaxTextLength = 256;

// `text` cut to kMaxTextLength characters, the last one "…" when cut (never inside a
// surrogate pair).
inline QString capped(const QString &text)
{
    if (text.size() <= kMaxTextLength)
        return text;
    qsizetype keep = kMaxTextLength - 1;
    if (text.at(keep - 1).isHighSurrogate())
        --keep;
    return text.left(keep) + QChar(0x2026);
}

// Identity strings come as octet-string (mostly printable ASCII), visible-string or utf8-string;
// anything else is shown as the value's text so the technician still sees what the meter said.
// Capped (capped()): the text goes into reports and results as it is.
inline QString text(const dlms::Value &value)
{
    switch (value.type()) {
    case dlms::DataType::OctetString:
        if (isPrintable(value.bytes()))
            return capped(QString::fromLatin1(value.bytes()).trimmed());
        // Only what the cap keeps is converted: three characters a byte.
        return capped(QString::fromLatin1(value.bytes().left(kMaxTextLength / 3 + 1).toHex(' ')).toUpper());
    case dlms::DataType::VisibleString:
    case dlms::DataType::Utf8String:
        return capped(value.string().trimmed());
    case dlms::DataType::NullData:
        return {};
    default:
        return capped(value.toText());
    }
}

// One read of the three objects: a GET-with-list when the meter offers multiple references,
// else (or when the list is refused) one GET each. Feed it every response of the connection.
class Read {
public:
    QString logicalDeviceName;
    QString serialNumber;
    QString firmwareVersion;
    int answered = 0; // objects the meter answered with a value
    int refused = 0; // objects it answered with a data-access-result (it has none)
    int failed = 0; // requests that got no result at all (exception, service error)
    QString lastError; // the last such failure's text
    // The objects without a value (refused or failed), in kObjects order, each with why.
    std::vector<std::pair<Field, QString>> unread;

    void start(polling::DlmsConnection &connection)
    {
        m_connection = &connection;
        if (connection.session().supports(dlms::ConformanceMultipleReferences)) {
            std::vector<dlms::AttributeRequest> items;
            for (const Object &object : kObjects)
                items.push_back({object.attribute, std::nullopt});
            m_listRequest = connection.getList(std::move(items));
        } else {
            readOneByOne();
        }
    }

    // True when the response was one of this read's and the read is now complete.
    bool onResponse(const dlms::ClientSession::Response &response)
    {
        if (m_listRequest != 0 && response.id == m_listRequest) {
            m_listRequest = 0;
            if (response.error || response.results.size() != std::size(kObjects)) {
                // Some meters announce multiple references and still refuse a list: ask again
                // one object at a time before calling the meter unreadable.
                readOneByOne();
                return false;
            }
            for (size_t i = 0; i < response.results.size(); ++i)
                setField(kObjects[i].field, response.results[i]);
        } else if (const auto it = m_single.constFind(response.id); it != m_single.cend()) {
            if (!response.error && response.results.size() == 1) {
                setField(it.value(), response.results.front());
            } else {
                ++failed;
                lastError = response.error ? response.error->message : QString();
                markUnread(it.value(), lastError);
            }
            m_single.erase(it);
        } else {
            return false;
        }
        return done();
    }

    bool done() const { return m_listRequest == 0 && m_single.isEmpty(); }

private:
    void readOneByOne()
    {
        m_listRequest = 0;
        for (const Object &object : kObjects)
            m_single.insert(m_connection->get(object.attribute), object.field);
    }

    void setField(Field field, const dlms::DataResult &data)
    {
        // A meter without the object (object-undefined, read-write-denied …) leaves it empty.
        const QString value = data.ok() ? text(data.value) : QString();
        (data.ok() ? answered : refused) += 1;
        if (!data.ok())
            markUnread(field, dlms::dataAccessResultName(quint8(data.result)));
        switch (field) {
        case Field::DeviceName:
            logicalDeviceName = value;
            break;
        case Field::Serial:
            serialNumber = value;
            break;
        case Field::Firmware:
            firmwareVersion = value;
            break;
        }
    }

    void markUnread(Field field, const QString &why)
    {
        // Kept in kObjects order whatever order the answers came in.
        const auto rank = [](Field f) { return int(f); };
        auto at = unread.begin();
        while (at != unread.end() && rank(at->first) < rank(field))
            ++at;
        unread.insert(at, {field, why});
    }

    polling::DlmsConnection *m_connection = nullptr;
    QHash<dlms::ClientSession::RequestId, Field> m_single;
    dlms::ClientSession::RequestId m_listRequest = 0;
};

} // namespace app::identity
