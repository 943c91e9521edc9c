using XtcpEpoll.Bench.Harness.Infra;
namespace XtcpEpoll.Bench.Harness.Modes;
internal sealed class DenseMode(HarnessContext c)
{
    public Task<bool> RunAsync() { _ = c; throw new NotImplementedException(); }
}
