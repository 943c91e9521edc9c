using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>An fd whose read returns an 8-byte counter and resets it: eventfd and timerfd (both non-blocking here).</summary>
public abstract unsafe class CounterFd : IDisposable
{
    private protected CounterFd(OwnedFd fd) => Handle = fd;

    /// <summary>For <see cref="Epoll.Add"/>.</summary>
    public OwnedFd Handle { get; }

    /// <summary>Reads (and so resets) the counter; 0 when nothing was pending.</summary>
    public ulong Drain()
    {
        using var fd = Handle.Borrow();
        ulong value = 0;
        return (long)read(fd.Fd, &value, 8) == 8 ? value : 0;
    }

    public void Dispose() => Handle.Dispose();
}

/// <summary>An eventfd (EFD_CLOEXEC | EFD_NONBLOCK): other threads <see cref="Signal"/> it to wake an epoll loop.</summary>
public sealed unsafe class EventFd : CounterFd
{
    private EventFd(OwnedFd fd) : base(fd) { }

    public static EventFd Create() => new(OwnedFd.Check(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd"));

    /// <summary>Adds 1 (wakes its epoll waiter). False once disposed: a late poster never writes to a reused fd number.</summary>
    public bool Signal()
    {
        if (!Handle.TryBorrow(out var fd)) return false;
        using (fd)
        {
            ulong one = 1;
            write(fd.Fd, &one, 8);
            return true;
        }
    }
}

/// <summary>A CLOCK_MONOTONIC timerfd (TFD_CLOEXEC | TFD_NONBLOCK) armed one-shot; readable when it expires.</summary>
public sealed unsafe class TimerFd : CounterFd
{
    private TimerFd(OwnedFd fd) : base(fd) { }

    public static TimerFd Create() => new(OwnedFd.Check(
        LibCAdditions.timerfd_create(LibCAdditions.CLOCK_MONOTONIC, LibCAdditions.TFD_CLOEXEC | LibCAdditions.TFD_NONBLOCK), "timerfd_create"));

    /// <summary>Expires once, <paramref name="delay"/> from now (a zero it_value would disarm: at least 1 ns).</summary>
    public void ArmOnce(TimeSpan delay)
    {
        long ns = Math.Max(1, delay.Ticks * 100);
        var spec = new ITimerSpec { Value = new timespec { tv_sec = ns / 1_000_000_000, tv_nsec = (long_t)(ns % 1_000_000_000) } };
        Set(&spec);
    }

    public void Disarm()
    {
        var spec = default(ITimerSpec);
        Set(&spec);
    }

    /// <summary>Time left until expiry (zero when disarmed).</summary>
    public TimeSpan Remaining()
    {
        using var fd = Handle.Borrow();
        ITimerSpec spec;
        if (LibCAdditions.timerfd_gettime(fd.Fd, &spec) != 0) throw Errno.Failure("timerfd_gettime", Errno.Last);
        return TimeSpan.FromTicks((long)spec.Value.tv_sec * TimeSpan.TicksPerSecond + (long)spec.Value.tv_nsec / 100);
    }

    private void Set(ITimerSpec* spec)
    {
        using var fd = Handle.Borrow();
        LibCAdditions.timerfd_settime(fd.Fd, 0, spec, null);
    }
}
