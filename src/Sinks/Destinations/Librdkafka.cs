using System.Runtime.InteropServices;
using System.Text;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>
/// Direct calls into the librdkafka that Confluent.Kafka loaded, for what Confluent.Kafka does not expose:
/// checking one property the way librdkafka itself does (rd_kafka_conf_set on a scratch configuration), so
/// an unknown key or a bad value is refused before start-up with librdkafka's own message.
/// <para>
/// The file is found in /proc/self/maps after Confluent.Kafka has loaded it: librdkafka.redist's default
/// build needs libsasl2.so.3 and, where that is missing, Confluent.Kafka falls back to another build
/// (centos8) by itself. Binding by name could load a second, different library; this handle is the same
/// instance the producer uses, with the same features (SSL, SASL mechanisms).
/// </para>
/// </summary>
public static unsafe class Librdkafka
{
    private static readonly Lazy<nint> LoadedHandle = new(FindLoaded);

    /// <summary>The dlopen handle of the librdkafka Confluent.Kafka uses (loads it if needed).</summary>
    public static nint Handle => LoadedHandle.Value;

    /// <summary>Path of that file (which build of librdkafka.redist is in use).</summary>
    public static string Path { get; private set; } = "";

    /// <summary>
    /// The address of one librdkafka function in that instance, to cast to a <c>delegate* unmanaged</c>.
    /// The only binding by export outside src/Netlink/Native (InteropGuardTests holds it here): a second
    /// binding could resolve a different build of the library.
    /// </summary>
    public static nint Export(string name) => NativeLibrary.GetExport(Handle, name);

    /// <summary>
    /// librdkafka's verdict on one property: null when accepted, else its own message, e.g.
    /// <c>No such configuration property: "foo.bar"</c>. No client is created and nothing connects.
    /// </summary>
    public static string? CheckProperty(string key, string value)
    {
        var confNew = (delegate* unmanaged<nint>)Export("rd_kafka_conf_new");
        var confSet = (delegate* unmanaged<nint, byte*, byte*, byte*, nuint, int>)Export("rd_kafka_conf_set");
        var confDestroy = (delegate* unmanaged<nint, void>)Export("rd_kafka_conf_destroy");
        var conf = confNew();
        try
        {
            var name = Encoding.UTF8.GetBytes(key + "\0");
            var text = Encoding.UTF8.GetBytes(value + "\0");
            var errstr = stackalloc byte[512];
            errstr[0] = 0;
            fixed (byte* n = name, v = text)
            {
                // RD_KAFKA_CONF_OK = 0; UNKNOWN = -2, INVALID = -1 (errstr says which).
                if (confSet(conf, n, v, errstr, 512) == 0) return null;
            }
            return System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)errstr) ?? $"librdkafka refused \"{key}\"";
        }
        finally
        {
            confDestroy(conf);
        }
    }

    private static nint FindLoaded()
    {
        _ = Confluent.Kafka.Library.Version; // makes Confluent.Kafka load (and pick) its native library
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var slash = line.IndexOf('/');
            if (slash < 0 || !line.Contains("librdkafka", StringComparison.Ordinal)) continue;
            Path = line[slash..].Trim();
            return NativeLibrary.Load(Path);
        }
        throw new InvalidOperationException("librdkafka is not mapped after Confluent.Kafka initialised");
    }
}
