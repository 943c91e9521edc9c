using System.Runtime.InteropServices;
using System.Text;
using XtcpEpoll.Netlink.Native;
using static XtcpEpoll.Netlink.Native.LibCAdditions;

namespace XtcpEpoll.Loop.Namespaces;

/// <summary>What an inotify event means for the namespace registry.</summary>
public enum WatchEventKind { Appeared, Disappeared, DirectoryAppeared, Rescan }

/// <summary>
/// One inotify fd (registered on the control thread's epoll) watching the netns directories. A directory
/// that does not exist yet is covered by a watch on its parent (IN_CREATE/IN_MOVED_TO of that name) and
/// by the reconcile scan, which calls <see cref="EnsureWatches"/>. Owner: the control thread.
/// </summary>
public sealed class DirectoryWatcher : IDisposable
{
    private const uint DirMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
    private const uint ParentMask = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR;

    private readonly IReadOnlyList<string> _dirs;
    private readonly Dictionary<int, string> _dirByWd = new();
    private readonly Dictionary<int, string> _parentByWd = new();
    private readonly HashSet<string> _watched = new();
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly Inotify _inotify;

    public DirectoryWatcher(IReadOnlyList<string> dirs)
    {
        _dirs = dirs;
        _inotify = Inotify.Create(); // InvalidOperationException naming errno (e.g. EMFILE)
        EnsureWatches();
    }

    /// <summary>The inotify fd, for the control thread's epoll.</summary>
    public OwnedFd Fd => _inotify.Handle;

    /// <summary>Watches every configured directory that exists, and the parent of each one that does not.</summary>
    public void EnsureWatches()
    {
        foreach (var dir in _dirs)
        {
            if (_watched.Contains(dir)) continue;
            int wd = _inotify.AddWatch(dir, DirMask);
            if (wd >= 0)
            {
                _dirByWd[wd] = dir;
                _watched.Add(dir);
                continue;
            }
            var parent = Path.GetDirectoryName(dir);
            if (parent == null) continue;
            int pwd = _inotify.AddWatch(parent, ParentMask);
            if (pwd >= 0) _parentByWd[pwd] = parent;
        }
    }

    /// <summary>Reads every pending event (non-blocking fd) and reports them.</summary>
    public void ReadEvents(Action<WatchEventKind, string> onEvent)
    {
        while (true)
        {
            int n = _inotify.Read(_buffer);
            if (n <= 0) return;
            int header = Marshal.SizeOf<InotifyEvent>();
            int offset = 0;
            while (offset + header <= n)
            {
                var ev = MemoryMarshal.Read<InotifyEvent>(_buffer.AsSpan(offset));
                string name = ev.Length > 0 ? ReadName(offset + header, (int)ev.Length) : "";
                offset += header + (int)ev.Length;
                Dispatch(ev.Wd, ev.Mask, name, onEvent);
            }
        }
    }

    private void Dispatch(int wd, uint mask, string name, Action<WatchEventKind, string> onEvent)
    {
        if ((mask & IN_Q_OVERFLOW) != 0) { onEvent(WatchEventKind.Rescan, ""); return; }
        if (_dirByWd.TryGetValue(wd, out var dir))
        {
            if ((mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) != 0)
            {
                _watched.Remove(dir);
                if ((mask & IN_IGNORED) != 0) _dirByWd.Remove(wd);
                onEvent(WatchEventKind.Rescan, dir);
                return;
            }
            if (name.Length == 0) return;
            var path = Path.Combine(dir, name);
            if ((mask & (IN_CREATE | IN_MOVED_TO)) != 0) onEvent(WatchEventKind.Appeared, path);
            else if ((mask & (IN_DELETE | IN_MOVED_FROM)) != 0) onEvent(WatchEventKind.Disappeared, path);
            return;
        }
        if (_parentByWd.TryGetValue(wd, out var parent) && name.Length > 0)
        {
            var candidate = Path.Combine(parent, name);
            foreach (var wanted in _dirs)
            {
                if (wanted != candidate || _watched.Contains(wanted)) continue;
                EnsureWatches();
                onEvent(WatchEventKind.DirectoryAppeared, wanted);
            }
        }
    }

    private string ReadName(int start, int len)
    {
        int end = Array.IndexOf(_buffer, (byte)0, start, len);
        return Encoding.UTF8.GetString(_buffer, start, (end < 0 ? start + len : end) - start);
    }

    public void Dispose() => _inotify.Dispose();
}
