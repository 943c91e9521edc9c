using Xunit;

namespace XtcpEpoll.Tests;

/// <summary>
/// A [Fact] that needs a program from the host (not a package of ours): when it is not on PATH the test is
/// reported as skipped, with the reason, instead of passing without having checked anything. xunit 2
/// has no runtime skip; a FactAttribute's Skip set at discovery is its supported way to do this.
/// </summary>
public sealed class FactWhenInstalledAttribute : FactAttribute
{
    public FactWhenInstalledAttribute(string program)
    {
        if (Locate(program) == null)
            Skip = $"{program} is not installed (not found on PATH)";
    }

    /// <summary>Full path of <paramref name="program"/> on PATH, or null.</summary>
    public static string? Locate(string program)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}

/// <summary>The [Theory] form of <see cref="FactWhenInstalledAttribute"/>: every case is reported as skipped.</summary>
public sealed class TheoryWhenInstalledAttribute : TheoryAttribute
{
    public TheoryWhenInstalledAttribute(string program)
    {
        if (FactWhenInstalledAttribute.Locate(program) == null)
            Skip = $"{program} is not installed (not found on PATH)";
    }
}
