using System.Runtime.InteropServices;
using Tmds.Linux;

namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// A file descriptor this process owns (socket, epoll, eventfd, timerfd, inotify, namespace file...). It is
/// closed exactly once, by <see cref="SafeHandle.Dispose()"/> or, if leaked, by the finalizer; and never
/// used after: a call that borrows it (<see cref="Borrow"/>) holds a reference, so a Dispose racing with that
/// call defers the close until the call returns, and a borrow after Dispose throws ObjectDisposedException
/// instead of writing to whatever file the number belongs to by then (the fd-number reuse bug raw ints allow).
/// Borrowing is two interlocked operations and no allocation; the syscalls it guards cost microseconds.
/// </summary>
public sealed class OwnedFd : SafeHandle
{
    /// <summary>Takes ownership of <paramref name="fd"/> (a negative value makes an invalid, never-closed handle).</summary>
    public OwnedFd(int fd) : base(invalidHandleValue: -1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => (long)handle < 0;

    /// <summary>
    /// The fd number, for logs and records only (xtcp2's socket_fd field). It stays readable after close but
    /// then names nothing of ours: pass the handle, never the number, to a call.
    /// </summary>
    public int Number => (int)handle;

    /// <summary>Takes a reference for one or more calls: <c>using var fd = owned.Borrow(); read(fd.Number, ...)</c>.</summary>
    /// <exception cref="ObjectDisposedException">the fd was already closed (a use-after-close bug).</exception>
    public FdLease Borrow()
    {
        bool added = false;
        DangerousAddRef(ref added);
        return new FdLease(this, (int)handle);
    }

    /// <summary>
    /// Like <see cref="Borrow"/> but false instead of an exception once closed: for callers that may
    /// legitimately race with shutdown (e.g. waking a loop that has just stopped).
    /// </summary>
    public bool TryBorrow(out FdLease lease)
    {
        lease = default;
        if (IsClosed) return false;
        try { lease = Borrow(); return true; }
        catch (ObjectDisposedException) { return false; }
    }

    /// <summary>Wraps the result of a syscall that returns a new fd, or throws naming the call and errno.</summary>
    public static OwnedFd Check(int result, string what) =>
        result >= 0 ? new OwnedFd(result) : throw Errno.Failure(what, Errno.Last);

    /// <summary>Wraps the result of a syscall that returns a new fd; null (with the call's errno) on failure.</summary>
    public static OwnedFd? FromResult(int result, out int errno)
    {
        errno = result >= 0 ? 0 : Errno.Last;
        return result >= 0 ? new OwnedFd(result) : null;
    }

    /// <summary>close(2) once. Never retried on EINTR: Linux has released the number either way.</summary>
    protected override bool ReleaseHandle() => LibC.close((int)handle) == 0;

    public override string ToString() => IsClosed ? $"fd {Number} (closed)" : $"fd {Number}";
}

/// <summary>A reference on an <see cref="OwnedFd"/> held for the duration of a call (see <see cref="OwnedFd.Borrow"/>).</summary>
public readonly ref struct FdLease
{
    private readonly OwnedFd? _owner;

    internal FdLease(OwnedFd owner, int fd)
    {
        _owner = owner;
        Fd = fd;
    }

    /// <summary>The fd number, valid until <see cref="Dispose"/>.</summary>
    public int Fd { get; }

    public void Dispose() => _owner?.DangerousRelease();
}
