namespace XtcpEpoll.Host.Metrics;

/// <summary>What /readyz reports: ready after the first complete poll while the sink is healthy.</summary>
public sealed class HealthState
{
    private Func<bool> _ready = static () => false;

    public bool IsReady
    {
        get
        {
            try { return _ready(); }
            catch (ObjectDisposedException) { return false; }
        }
    }

    /// <summary>Installed once the collector and the sink exist.</summary>
    public void SetReadinessProbe(Func<bool> probe) => _ready = probe;
}
