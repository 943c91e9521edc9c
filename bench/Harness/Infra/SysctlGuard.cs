namespace XtcpEpoll.Bench.Harness.Infra;

/// <summary>Sets a sysctl and restores the previous value on dispose, on exceptions and on signals.</summary>
internal sealed class SysctlGuard : IDisposable
{
    private readonly IDisposable _restore;

    public SysctlGuard(string name, string value)
    {
        string path = "/proc/sys/" + name.Replace('.', '/');
        Previous = File.ReadAllText(path).Trim();
        _restore = Cleanup.Register($"restore {name}={Previous}", () => File.WriteAllText(path, Previous));
        File.WriteAllText(path, value);
        Console.Error.WriteLine($"harness: sysctl {name}={value} (was {Previous}; restored afterwards)");
    }

    public string Previous { get; }

    public void Dispose() => _restore.Dispose();
}
