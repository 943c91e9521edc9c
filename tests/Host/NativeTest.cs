namespace XtcpEpoll.Tests.Host;

/// <summary>
/// Signal numbers as compile-time constants, for [InlineData] (Tmds.LibC exposes them as properties; a test
/// checks they agree). Calls go through Tmds.LibC (e.g. <c>LibC.kill</c> in <see cref="DaemonProcess"/>).
/// </summary>
internal static class NativeTest
{
    public const int SIGINT = 2;
    public const int SIGTERM = 15;
}
