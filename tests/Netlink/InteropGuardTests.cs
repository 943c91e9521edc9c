using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Tmds.Linux;
using Xunit;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>
/// One interop layer: native calls go through Tmds.LibC, and the few it lacks are declared once, in
/// src/Netlink/Native (every project references XtcpEpoll.Netlink). A new import anywhere else, or a local
/// copy of a call Tmds.LibC already has, fails here.
/// </summary>
public sealed partial class InteropGuardTests
{
    private static readonly string LayerDirectory = Path.Combine("src", "Netlink", "Native") + Path.DirectorySeparatorChar;

    [GeneratedRegex(@"\[\s*(?:assembly:\s*)?(?:System\.Runtime\.InteropServices\.)?(?:DllImport|LibraryImport)(?:Attribute)?\s*\(|\bstatic\s+extern\b")]
    private static partial Regex ImportPattern();

    [Fact]
    public void Only_the_interop_layer_declares_native_imports()
    {
        var offenders = new List<string>();
        int scanned = 0;
        foreach (var top in new[] { "src", "tests", "bench" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(TestPaths.RepoRoot, top), "*.cs", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(TestPaths.RepoRoot, file);
                var parts = relative.Split(Path.DirectorySeparatorChar);
                if (parts.Contains("obj") || parts.Contains("bin")) continue;
                scanned++;
                if (relative.StartsWith(LayerDirectory, StringComparison.Ordinal)) continue;
                foreach (var (line, number) in File.ReadLines(file).Select((l, i) => (l, i + 1)))
                    if (ImportPattern().IsMatch(line)) offenders.Add($"{relative}:{number}: {line.Trim()}");
            }
        }
        Assert.True(scanned > 100, $"only {scanned} files scanned: is {TestPaths.RepoRoot} the repository?");
        Assert.True(offenders.Count == 0,
            "declare native calls in src/Netlink/Native/LibCAdditions.cs only (and only what Tmds.LibC lacks):\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void The_layer_declares_only_what_Tmds_LibC_lacks()
    {
        var imports = typeof(LibCAdditions).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.GetCustomAttribute<LibraryImportAttribute>() != null || m.GetCustomAttribute<DllImportAttribute>() != null)
            .Select(m => m.Name)
            .ToList();
        Assert.NotEmpty(imports);
        var duplicated = imports.Where(name => typeof(LibC).GetMethod(name, BindingFlags.Public | BindingFlags.Static) != null).ToList();
        Assert.True(duplicated.Count == 0, "Tmds.LibC already has: " + string.Join(", ", duplicated));

        // Nor do the layer's other types import anything of their own.
        var elsewhere = typeof(LibCAdditions).Assembly.GetTypes()
            .Where(t => t != typeof(LibCAdditions))
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.GetCustomAttribute<LibraryImportAttribute>() != null || (m.Attributes & MethodAttributes.PinvokeImpl) != 0)
            .Where(m => m.DeclaringType?.DeclaringType != typeof(LibCAdditions)) // LibraryImport's generated stubs
            .Select(m => $"{m.DeclaringType}.{m.Name}")
            .ToList();
        Assert.True(elsewhere.Count == 0, "imports outside LibCAdditions: " + string.Join(", ", elsewhere));
    }
}
