using System.Collections.Concurrent;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// The namespaces whose destroy events one lane forwards, as its parse worker finds them by id. Destroy
/// events come at any time, outside any poll plan, so their frames carry the namespace's handle id: the lane
/// announces a handle before it watches its destroy socket (so before any frame of it; the pipe's flush orders
/// the two) and writes a NamespaceGone frame after it closed it. Announcements are rare (namespace opens), so
/// a queue is fine; lookups by id are allocation-free.
/// </summary>
internal sealed class EventSources
{
    private readonly ConcurrentQueue<NamespaceHandle> _announced = new();
    private readonly Dictionary<ulong, NamespaceHandle> _byId = new(); // parse worker only

    /// <summary>Lane thread: the namespace's destroy frames may follow.</summary>
    public void Announce(NamespaceHandle handle) => _announced.Enqueue(handle);

    /// <summary>Parse worker: the namespace of a destroy frame (null only for a frame of no announced namespace: a bug).</summary>
    public NamespaceHandle? Find(ulong id)
    {
        if (_byId.TryGetValue(id, out var handle)) return handle;
        TakeAnnouncements();
        return _byId.GetValueOrDefault(id);
    }

    /// <summary>Parse worker, at NamespaceGone: nothing of that namespace follows.</summary>
    public void Forget(ulong id)
    {
        TakeAnnouncements();
        _byId.Remove(id);
    }

    private void TakeAnnouncements()
    {
        while (_announced.TryDequeue(out var handle)) _byId[handle.Id] = handle;
    }
}
