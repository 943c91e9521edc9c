using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace XtcpEpoll.Tests;

/// <summary>
/// Tests, benchmarks and scripts read nothing outside the repository: a user's clone has nothing beside it,
/// and the team's reference folder next to the checkouts is for people, not an input. Fixtures live in
/// tests/fixtures (see TestPaths).
/// </summary>
public class RepositorySelfContainedTests
{
    /// <summary>
    /// A path into the sibling reference folder, written either as one string or as Path.Combine pieces.
    /// Spelt with character classes so this file does not match itself.
    /// </summary>
    private static readonly Regex SiblingReference = new(
        @"[.][.][/\\]shared\b|""[.][.]""\s*,\s*""shared""|""shared""\s*,\s*""fixtures""", RegexOptions.CultureInvariant);

    private static readonly string[] SkippedDirectories = ["bin", "obj", "BenchmarkDotNet.Artifacts", "TestResults", "artifacts"];

    [Fact]
    public void No_source_test_benchmark_or_script_refers_to_the_folder_beside_the_checkout()
    {
        var offenders = new List<string>();
        foreach (var file in ScannedFiles())
        {
            var text = File.ReadAllText(file, Encoding.Latin1);
            var match = SiblingReference.Match(text);
            if (match.Success)
            {
                int line = 1 + text.AsSpan(0, match.Index).Count('\n');
                offenders.Add($"{Path.GetRelativePath(TestPaths.RepoRoot, file)}:{line}: {match.Value}");
            }
        }
        Assert.True(offenders.Count == 0, "read nothing outside the repository:\n" + string.Join('\n', offenders));
    }

    [Fact]
    public void The_scan_covers_the_code_the_tests_the_benchmarks_and_the_scripts()
    {
        var scanned = ScannedFiles().Select(f => Path.GetRelativePath(TestPaths.RepoRoot, f)).ToHashSet();
        Assert.Contains("test.sh", scanned);
        Assert.Contains(Path.Combine(".ci", "run"), scanned);
        Assert.Contains(Path.Combine("bench", "ci-harness.sh"), scanned);
        Assert.Contains(Path.Combine("tests", "TestPaths.cs"), scanned);
        Assert.Contains(scanned, f => f.StartsWith("src" + Path.DirectorySeparatorChar, StringComparison.Ordinal));
        Assert.DoesNotContain(scanned, f => f.Split(Path.DirectorySeparatorChar).Contains("obj"));

        // The pattern catches both spellings (built here at run time, never written out in a source file).
        string parent = "..", name = "shared";
        Assert.Matches(SiblingReference, $"var p = \"{parent}/{name}/fixtures/netlink\";");
        Assert.Matches(SiblingReference, $"Path.Combine(root, \"{parent}\", \"{name}\", \"fixtures\")");
        Assert.DoesNotMatch(SiblingReference, "--shared-tables-refresh and the host's shared TCP table");
    }

    /// <summary>src/, tests/, bench/ (build output skipped), test.sh, .ci/ and any top-level script.</summary>
    private static IEnumerable<string> ScannedFiles()
    {
        var root = TestPaths.RepoRoot;
        foreach (var top in new[] { "src", "tests", "bench", ".ci" })
        {
            var pending = new Stack<string>([Path.Combine(root, top)]);
            while (pending.Count > 0)
            {
                var dir = pending.Pop();
                if (!Directory.Exists(dir)) continue;
                foreach (var sub in Directory.EnumerateDirectories(dir))
                    if (!SkippedDirectories.Contains(Path.GetFileName(sub))) pending.Push(sub);
                foreach (var file in Directory.EnumerateFiles(dir))
                    yield return file;
            }
        }
        foreach (var script in Directory.EnumerateFiles(root, "*.sh"))
            yield return script;
    }
}
