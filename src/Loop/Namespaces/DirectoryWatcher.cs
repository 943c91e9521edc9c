using System.Text;
using XtcpEpoll.Loop.Native;

namespace XtcpEpoll.Loop.Namespaces;

/// <summary>What an inotify event means for the namespace registry.</summary>
public enum WatchEventKind { Appeared, Disappeared, DirectoryAppeared, Rescan }

/// <summary>
/// One inotify fd (registered on the control thread's epoll) watching the netns directories. A directory
/// that does not exist yet is covered by a watch on its parent (IN_CREATE/IN_MOVED_TO of that name) and
/// by the reconcile scan, which calls <see cref="EnsureWatches"/>.
/// </summary>
public sealed unsafe class DirectoryWatcher : IDisposable
{
    private const uint DirMask = Sys.IN_CREATE | Sys.IN_DELETE | Sys.IN_MOVED_FROM | Sys.IN_MOVED_TO |
                                 Sys.IN_DELETE_SELF | Sys.IN_MOVE_SELF | Sys.IN_ONLYDIR;
    private const uint ParentMask = Sys.IN_CREATE | Sys.IN_MOVED_TO | Sys.IN_ONLYDIR;

    private readonly IReadOnlyList<string> _dirs;
    private readonly Dictionary<int, string> _dirByWd = new();
    private readonly Dictionary<int, string> _parentByWd = new();
    private readonly HashSet<string> _watched = new();
    private readonly byte[] _buffer = new byte[64 * 1024];

    public DirectoryWatcher(IReadOnlyList<string> dirs)
    {
        _dirs = dirs;
        Fd = Sys.inotify_init1(Sys.IN_CLOEXEC | Sys.IN_NONBLOCK);
        if (Fd < 0) throw new InvalidOperationException($"inotify_init1 failed: errno {Sys.Errno}");
        EnsureWatches();
    }

    public int Fd { get; }

    /// <summary>Watches every configured directory that exists, and the parent of each one that does not.</summary>
    public void EnsureWatches()
    {
        foreach (var dir in _dirs)
        {
            if (_watched.Contains(dir)) continue;
            int wd = Sys.inotify_add_watch(Fd, dir, DirMask);
            if (wd >= 0)
            {
                _dirByWd[wd] = dir;
                _watched.Add(dir);
                continue;
            }
            var parent = Path.GetDirectoryName(dir);
            if (parent == null) continue;
            int pwd = Sys.inotify_add_watch(Fd, parent, ParentMask);
            if (pwd >= 0) _parentByWd[pwd] = parent;
        }
    }

    /// <summary>Reads every pending event (non-blocking fd) and reports them.</summary>
    public void ReadEvents(Action<WatchEventKind, string> onEvent)
    {
        while (true)
        {
            nint n;
            fixed (byte* p = _buffer) n = Sys.read(Fd, p, _buffer.Length);
            if (n <= 0) return;
            int offset = 0;
            while (offset + 16 <= n)
            {
                int wd; uint mask; uint len;
                fixed (byte* p = &_buffer[offset]) { wd = *(int*)p; mask = *(uint*)(p + 4); len = *(uint*)(p + 12); }
                string name = len > 0 ? ReadName(offset + 16, (int)len) : "";
                offset += 16 + (int)len;
                Dispatch(wd, mask, name, onEvent);
            }
        }
    }

    private void Dispatch(int wd, uint mask, string name, Action<WatchEventKind, string> onEvent)
    {
        if ((mask & Sys.IN_Q_OVERFLOW) != 0) { onEvent(WatchEventKind.Rescan, ""); return; }
        if (_dirByWd.TryGetValue(wd, out var dir))
        {
            if ((mask & (Sys.IN_DELETE_SELF | Sys.IN_MOVE_SELF | Sys.IN_IGNORED)) != 0)
            {
                _watched.Remove(dir);
                if ((mask & Sys.IN_IGNORED) != 0) _dirByWd.Remove(wd);
                onEvent(WatchEventKind.Rescan, dir);
                return;
            }
            if (name.Length == 0) return;
            var path = Path.Combine(dir, name);
            if ((mask & (Sys.IN_CREATE | Sys.IN_MOVED_TO)) != 0) onEvent(WatchEventKind.Appeared, path);
            else if ((mask & (Sys.IN_DELETE | Sys.IN_MOVED_FROM)) != 0) onEvent(WatchEventKind.Disappeared, path);
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

    public void Dispose() => Sys.close(Fd);
}
